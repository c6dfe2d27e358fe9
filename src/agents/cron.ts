/**
 * Cron expressions as Temporal Schedules read them (5, 6 or 7 fields; all fields must match,
 * i.e. day-of-month AND day-of-week). Parsed here too so specs are validated before a schedule
 * exists and so hybrid AND triggers can check a fire time against a cron at fire time.
 *   5 fields:         minute hour day_of_month month day_of_week
 *   6 fields:         minute hour day_of_month month day_of_week year
 *   7 fields: second  minute hour day_of_month month day_of_week year
 */
interface FieldRange {
  name: string;
  min: number;
  max: number;
}
const SECOND: FieldRange = { name: 'second', min: 0, max: 59 };
const MINUTE: FieldRange = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldRange = { name: 'hour', min: 0, max: 23 };
const DAY: FieldRange = { name: 'day_of_month', min: 1, max: 31 };
const MONTH: FieldRange = { name: 'month', min: 1, max: 12 };
const WEEKDAY: FieldRange = { name: 'day_of_week', min: 0, max: 7 };
// Temporal Schedules refuse years outside 2000-2100 ("Year is not in range [2000-2100]").
const YEAR: FieldRange = { name: 'year', min: 2000, max: 2100 };

const SHORTHANDS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A parsed cron: for each field, the set of allowed values (undefined = any). */
export interface CronPattern {
  second: Set<number> | undefined;
  minute: Set<number> | undefined;
  hour: Set<number> | undefined;
  dayOfMonth: Set<number> | undefined;
  month: Set<number> | undefined;
  dayOfWeek: Set<number> | undefined;
  year: Set<number> | undefined;
}

/** One comma-separated part: `*`, `n`, `n-m`, each optionally `/step`; plain decimal digits only (no `0x1F`, `1e1`, `-5`). */
const PART = /^(\*|\d{1,4}(-\d{1,4})?)(\/\d{1,4})?$/;

function parseField(text: string, range: FieldRange): Set<number> | undefined {
  if (text === '*') return undefined;
  const values = new Set<number>();
  for (const part of text.split(',')) {
    if (!PART.test(part))
      throw new Error(`${range.name}: '${part}' is not a number, a range n-m or '*' (each optionally /step)`);
    const [body, stepText] = part.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`${range.name}: bad step in '${part}'`);
    let lo: number;
    let hi: number;
    if (body === '*') {
      lo = range.min;
      hi = range.name === 'day_of_week' ? 6 : range.max;
    } else {
      const [a, b] = body.split('-');
      lo = Number(a);
      hi = b === undefined ? (stepText === undefined ? lo : range.max) : Number(b);
    }
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < range.min || hi > range.max || lo > hi) {
      throw new Error(`${range.name}: '${part}' is not within ${range.min}-${range.max}`);
    }
    for (let v = lo; v <= hi; v += step) values.add(range.name === 'day_of_week' && v === 7 ? 0 : v);
  }
  return values;
}

/** Parses a cron expression; throws an Error whose message names the bad field. */
export function parseCron(expression: string): CronPattern {
  const text = SHORTHANDS[expression.trim()] ?? expression.trim();
  const fields = text.split(/\s+/);
  let parts: string[];
  if (fields.length === 5) parts = ['0', ...fields, '*'];
  else if (fields.length === 6) parts = ['0', ...fields];
  else if (fields.length === 7) parts = fields;
  else throw new Error(`expected 5, 6 or 7 fields, got ${fields.length}`);
  const [s, mi, h, dom, mo, dow, y] = parts as [string, string, string, string, string, string, string];
  return {
    second: parseField(s, SECOND),
    minute: parseField(mi, MINUTE),
    hour: parseField(h, HOUR),
    dayOfMonth: parseField(dom, DAY),
    month: parseField(mo, MONTH),
    dayOfWeek: parseField(dow, WEEKDAY),
    year: parseField(y, YEAR),
  };
}

const has = (set: Set<number> | undefined, v: number) => set === undefined || set.has(v);

/** Whether a UTC instant (whole seconds) matches the pattern. */
export function cronMatches(pattern: CronPattern, epochMs: number): boolean {
  const d = new Date(epochMs);
  return (
    d.getUTCMilliseconds() === 0 &&
    has(pattern.second, d.getUTCSeconds()) &&
    has(pattern.minute, d.getUTCMinutes()) &&
    has(pattern.hour, d.getUTCHours()) &&
    has(pattern.dayOfMonth, d.getUTCDate()) &&
    has(pattern.month, d.getUTCMonth() + 1) &&
    has(pattern.dayOfWeek, d.getUTCDay()) &&
    has(pattern.year, d.getUTCFullYear())
  );
}
