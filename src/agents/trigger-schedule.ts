/**
 * Trigger → Temporal Schedule mapping (paper Table III), pure so it is unit-testable and usable
 * from workflow code. The activity in activities/agents/schedules.ts turns a TriggerPlan into a
 * real ScheduleSpec.
 *
 *   every  → an interval (Temporal aligns intervals to the Unix epoch: every "10s" fires at :00, :10, …)
 *   cron   → a cron expression (5, 6 or 7 fields; 7 fields start with seconds)
 *   at     → a one-shot 7-field cron naming that exact second and year (fires once, UTC)
 *   or     → the union of its members' specs (one schedule fires at every member's times)
 *   and    → INTERSECTION, evaluated at fire time: the schedule fires at the times of the FIRST
 *            member (the driver); the tiny trigger workflow keeps a fire only when its nominal time
 *            is also a fire time of every other `every`/`cron` member (same second), and is at or after
 *            every `at` member (a date in an AND means "from this date on"; it also becomes the
 *            schedule's startAt so Temporal does not even fire before it). Dropped fires are
 *            visible as trigger workflows whose result says why.
 *            An operator's "trigger now" (a nominal time off the driver's own grid) always fires.
 *            A backfill replays the intersection over the backfilled range.
 */
import type { Trigger } from './spec.js';
import { cronMatches, parseCron } from './cron.js';
import { durationMs } from './duration.js';

/** A fire-time test for one simple trigger. */
export type Gate = { every: number; offset: number } | { cron: string } | { notBefore: number };

/** JSON form of what the schedule must contain; ms for intervals, ISO for dates. */
export interface TriggerPlan {
  intervals: { everyMs: number; offsetMs: number }[];
  cronExpressions: string[];
  startAt?: string;
  /** Present for AND triggers: the driver's own grid and the other members' gates. */
  and?: { driver: Gate; gates: Gate[] };
}

/** `at` as a 7-field cron naming that exact UTC second and year. */
export function dateAsCron(iso: string): string {
  const d = new Date(iso);
  return `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} * ${d.getUTCFullYear()}`;
}

function simplePlan(t: Trigger, plan: TriggerPlan): void {
  if ('every' in t)
    plan.intervals.push({ everyMs: durationMs(t.every), offsetMs: t.offset ? durationMs(t.offset) : 0 });
  else if ('cron' in t) plan.cronExpressions.push(t.cron);
  else if ('at' in t) plan.cronExpressions.push(dateAsCron(t.at));
  else throw new Error('hybrid triggers combine simple triggers only');
}

function gateOf(t: Trigger): Gate {
  if ('every' in t) return { every: durationMs(t.every), offset: t.offset ? durationMs(t.offset) : 0 };
  if ('cron' in t) return { cron: t.cron };
  if ('at' in t) return { notBefore: Date.parse(t.at) };
  throw new Error('AND members must be simple triggers');
}

export function planTrigger(trigger: Trigger): TriggerPlan {
  const plan: TriggerPlan = { intervals: [], cronExpressions: [] };
  if ('or' in trigger) {
    for (const member of trigger.or) simplePlan(member, plan);
  } else if ('and' in trigger) {
    const [driver, ...rest] = trigger.and as [Trigger, ...Trigger[]];
    simplePlan(driver, plan);
    const gates = rest.map(gateOf);
    const dates = gates.flatMap((g) => ('notBefore' in g ? [g.notBefore] : []));
    if (dates.length > 0) plan.startAt = new Date(Math.max(...dates)).toISOString();
    plan.and = { driver: gateOf(driver), gates };
  } else {
    simplePlan(trigger, plan);
  }
  return plan;
}

/** Whether a whole-second instant is a fire time of a gate. */
export function gateAccepts(gate: Gate, epochMs: number): boolean {
  if ('notBefore' in gate) return epochMs >= gate.notBefore;
  if ('every' in gate) return (((epochMs - gate.offset) % gate.every) + gate.every) % gate.every === 0;
  return cronMatches(parseCron(gate.cron), epochMs);
}

export interface AndVerdict {
  fire: boolean;
  reason: string;
}

/** The AND decision for a fire at `nominalMs` (see the module comment). */
export function andVerdict(and: NonNullable<TriggerPlan['and']>, nominalMs: number): AndVerdict {
  if (!gateAccepts(and.driver, nominalMs))
    return { fire: true, reason: 'manual trigger (off the driver grid): AND gates bypassed' };
  const failed = and.gates.findIndex((g) => !gateAccepts(g, nominalMs));
  if (failed >= 0)
    return { fire: false, reason: `AND member ${failed + 1} does not fire at ${new Date(nominalMs).toISOString()}` };
  return { fire: true, reason: 'all AND members fire at this time' };
}
