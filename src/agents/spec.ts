/**
 * The declarative agent model (paper section IV): an agent is a set of strategies, each
 * WHEN an event happens, IF a constraint over the agent's observations holds, THEN run actions.
 * Everything is plain JSON so an agent can be started from the `temporal` CLI, shown in the
 * Temporal UI and changed at run time.
 *
 * The zod schemas below are the one source of truth: the TypeScript types are inferred from them,
 * validate.ts checks specs with them (errors name the field path), and `npm run schema` publishes
 * them as schemas/agent-spec.schema.json for editors. Pure: importable from workflow code.
 */
import { z } from 'zod/v4';
import { NAME_PATTERN } from './conventions.js';
import { parseCron } from './cron.js';
import { parseDuration } from './duration.js';
import { DURATION_LIMITS, RESERVED_KEYS, SPEC_LIMITS, isReservedKey } from './limits.js';
import { describe, isPlainObject, oneKeyOf, switchUnion } from './zod-switch.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * A reference to a value known when a strategy runs, written `{ "$ref": "beliefs.predictions.count" }`.
 * Roots: `beliefs` (latest observations, kept across runs), `params` (agent parameters),
 * `event` (the event: `event.args`, `event.caller`, `event.name`, `event.firedAt`),
 * `results` (what earlier sensors/actions of this run returned, by their `as` name).
 */
// A type alias (not an interface) so a Ref also fits wherever plain JSON objects go (args with nested refs).
export type Ref = { $ref: string };
export const REF_ROOTS = ['beliefs', 'params', 'event', 'results'] as const;

export const TEMPLATES = ['tracker', 'checker', 'planner', 'executor', 'custom'] as const;
export type TemplateName = (typeof TEMPLATES)[number];

export const COMPARISONS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Comparison = (typeof COMPARISONS)[number];

export function isRef(value: unknown): value is Ref {
  return isPlainObject(value) && typeof value.$ref === 'string' && Object.keys(value).length === 1;
}

// ---- building blocks with the messages an author sees --------------------------------------

/** `{ error }` for a schema: "expected <what>, got <the value>". */
const expecting = (what: string) => ({
  error: (iss: { input?: unknown }) => `expected ${what}, got ${describe(iss.input)}`,
});

/** A closed object: unknown keys are errors that list the allowed ones. */
function obj<S extends z.core.$ZodLooseShape>(shape: S) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `unknown field (allowed: ${allowed})`
        : `expected an object, got ${describe(iss.input)}`,
  });
}

function list<T extends z.ZodType>(item: T, min = 0, max?: number) {
  let schema = z.array(item, expecting('a list'));
  if (min > 0) schema = schema.min(min, { error: `expected at least ${min} item${min === 1 ? '' : 's'}` });
  if (max !== undefined) schema = schema.max(max, { error: `expected at most ${max} items` });
  return schema;
}

const text = (what = 'a non-empty string', max: number = SPEC_LIMITS.textLength) =>
  z
    .string(expecting(what))
    .min(1, expecting(what))
    .max(max, { error: (iss) => `expected at most ${max} characters, got ${String(iss.input).length}` });

const reservedMessage = (key: string) => `"${key}" is a reserved name (it names a member of every object)`;
/** A key of an object built from the spec: refused when it names a member of Object.prototype. */
const ObjectKey = z
  .string()
  .max(SPEC_LIMITS.textLength, { error: `expected a key of at most ${SPEC_LIMITS.textLength} characters` })
  .refine((key) => !isReservedKey(key), { error: (iss) => reservedMessage(String(iss.input)) })
  .meta({ not: { enum: [...RESERVED_KEYS] } });

const nameMessage = `a name of lower-case letters, digits, '_' or '-' (like "tracker")`;
const Name = z.string(expecting(nameMessage)).regex(NAME_PATTERN, expecting(nameMessage));

/** Belief and result keys: identifiers, so `{"$ref": "beliefs.newPredictions.count"}` reads naturally. */
const keyMessage = `an identifier (letters, digits, '_'; like "predictions")`;
const Key = z
  .string(expecting(keyMessage))
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, expecting(keyMessage))
  .refine((key) => !isReservedKey(key), { error: (iss) => reservedMessage(String(iss.input)) })
  .meta({ not: { enum: [...RESERVED_KEYS] } });

const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?(ms|s|m|h|d)\\s*$';
/** Shortest text of a duration in ms for messages: 86400000 → "1d". */
function durationText(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** "500ms", "10s", "5m", "1h", "2d": whole milliseconds within [min, max]; schedules want whole seconds. */
function duration(options: { wholeSeconds?: boolean; zero?: boolean; minMs?: number; maxMs?: number } = {}) {
  const durationMessage = 'a duration like "10s"';
  const { minMs = 1, maxMs = DURATION_LIMITS.maxIntervalMs } = options;
  return z
    .string(expecting(durationMessage))
    .max(32, expecting(durationMessage))
    .check((ctx) => {
      const ms = parseDuration(ctx.value);
      const issue = (message: string) => ctx.issues.push({ code: 'custom', input: ctx.value, message });
      if (ms === undefined || ms < 0 || (ms === 0 && !options.zero))
        issue(`expected ${durationMessage}, got ${describe(ctx.value)}`);
      else if (options.wholeSeconds && ms % 1000 !== 0)
        issue(`expected a whole number of seconds (schedules fire on whole seconds), got ${describe(ctx.value)}`);
      else if (!Number.isInteger(ms)) issue(`expected a whole number of milliseconds, got ${describe(ctx.value)}`);
      else if (ms !== 0 && ms < minMs) issue(`expected at least ${durationText(minMs)}, got ${describe(ctx.value)}`);
      else if (ms > maxMs) issue(`expected at most ${durationText(maxMs)}, got ${describe(ctx.value)}`);
    })
    .meta({ pattern: DURATION_PATTERN, examples: ['10s', '5m', '1h'] });
}
const timeout = (maxMs: number = DURATION_LIMITS.maxTimeoutMs) =>
  duration({ minMs: DURATION_LIMITS.minTimeoutMs, maxMs });

function integer(min: number, max: number) {
  const range = expecting(`an integer in ${min}..${max}`);
  return z.int(range).min(min, range).max(max, range);
}

// ---- references and JSON data ---------------------------------------------------------------

const refMessage = `a reference starting with ${REF_ROOTS.join('/')}`;
const RefPath = z
  .string(expecting(refMessage))
  .max(SPEC_LIMITS.textLength, expecting(`${refMessage} of at most ${SPEC_LIMITS.textLength} characters`))
  .regex(new RegExp(`^(${REF_ROOTS.join('|')})(\\.|$)`), {
    error: (iss) => `expected ${refMessage}, got ${JSON.stringify(iss.input)}`,
  });
export const RefSchema = obj({ $ref: RefPath }).meta({
  id: 'Ref',
  description: 'A value known when the strategy runs: beliefs.*, params.*, event.* or results.*',
});

const Null = z.null();
const Bool = z.boolean();
const Num = z.number();
const Str = z
  .string()
  .max(SPEC_LIMITS.stringLength, { error: `expected a string of at most ${SPEC_LIMITS.stringLength} characters` });
/** The branch of a JSON scalar, or undefined for other values. */
function scalar(input: unknown): typeof Null | typeof Bool | typeof Num | typeof Str | string | undefined {
  if (input === null) return Null;
  if (typeof input === 'boolean') return Bool;
  if (typeof input === 'string') return Str;
  if (typeof input === 'number') return Number.isFinite(input) ? Num : 'expected a finite number';
  return undefined;
}

/** Any JSON value; `{ "$ref": … }` objects inside are references and their root is checked. */
export const JsonSchema: z.ZodType<Json> = z
  .lazy(() => {
    const list = z.array(JsonSchema);
    const record = z.record(ObjectKey, JsonSchema);
    return switchUnion([Null, Bool, Num, Str, list, RefSchema, record], (input) => {
      const branch = scalar(input);
      if (branch !== undefined) return branch;
      if (Array.isArray(input)) return list;
      if (isRef(input)) return RefSchema;
      if (isPlainObject(input)) return record;
      return `expected JSON data, got ${describe(input)}`;
    });
  })
  .meta({ id: 'Json' });

export const ParametersSchema = z.record(ObjectKey, JsonSchema, expecting('an object'));
const Parameters = ParametersSchema;

// ---- WHEN: triggers (Table III) and Call-Receive ----------------------------------------------

const Every = obj({
  every: duration({ wholeSeconds: true }).describe('Fire every interval, aligned to the Unix epoch'),
  offset: duration({ wholeSeconds: true, zero: true })
    .optional()
    .describe('Shift of the interval grid, shorter than the interval'),
})
  .superRefine(({ every, offset }, ctx) => {
    const everyMs = parseDuration(every);
    const offsetMs = offset === undefined ? undefined : parseDuration(offset);
    if (everyMs !== undefined && offsetMs !== undefined && offsetMs >= everyMs)
      ctx.addIssue({
        code: 'custom',
        path: ['offset'],
        input: offset,
        message: `expected an offset shorter than the interval (${every}), got ${describe(offset)}`,
      });
  })
  .meta({ id: 'Every' });
const atMessage = 'an ISO 8601 date-time with seconds and zone like "2026-01-31T12:00:00Z"';
const AT_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.0+)?(Z|([+-])(\d{2}):(\d{2}))$/;
/** Why an `at` text is not a real instant schedules can name (undefined when it is). */
export function atProblem(at: string): string | undefined {
  const m = AT_PATTERN.exec(at);
  if (!m) return `expected ${atMessage}, got ${describe(at)}`;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth || h > 23 || mi > 59 || s > 59)
    return `expected a date and time that exist, got ${describe(at)}`;
  if (m[9] !== undefined && (Number(m[10]) > 23 || Number(m[11]) > 59))
    return `expected a zone offset like +01:00, got ${describe(at)}`;
  const year = new Date(Date.parse(at)).getUTCFullYear();
  // the year Temporal Schedules accept (a date becomes a one-shot cron naming its year)
  if (!(year >= 2000 && year <= 2100)) return `expected a year in 2000..2100 (UTC), got ${describe(at)}`;
  return undefined;
}
const At = obj({
  at: z
    .string(expecting(atMessage))
    .max(40, expecting(atMessage))
    .check((ctx) => {
      const problem = atProblem(ctx.value);
      if (problem) ctx.issues.push({ code: 'custom', input: ctx.value, message: problem });
    })
    .meta({ pattern: AT_PATTERN.source })
    .describe('Fire once at this UTC second'),
}).meta({ id: 'At' });
const Cron = obj({
  cron: text('a non-empty string', SPEC_LIMITS.cronLength)
    .check((ctx) => {
      try {
        parseCron(ctx.value);
      } catch (err) {
        ctx.issues.push({
          code: 'custom',
          input: ctx.value,
          message: `expected a cron expression like "*/5 * * * *": ${(err as Error).message}`,
        });
      }
    })
    .describe('5, 6 or 7 fields (7 start with seconds); all fields must match'),
}).meta({ id: 'Cron' });

/** Hybrid triggers combine simple triggers one level deep. */
const simpleTriggerOf = (kind: 'and' | 'or') => {
  const nested = `${kind.toUpperCase()} members must be simple triggers (every, at or cron), not nested and/or`;
  return oneKeyOf({ every: Every, at: At, cron: Cron }, { and: nested, or: nested });
};
const Or = obj({
  or: list(simpleTriggerOf('or'), 2, SPEC_LIMITS.triggerMembers).describe('Fires at the union of the members’ times'),
});
/** AND is "the first member's fire times, kept when every other member agrees" (see trigger-schedule.ts). */
const And = obj({
  and: list(simpleTriggerOf('and'), 2, SPEC_LIMITS.triggerMembers)
    .superRefine((members, ctx) => {
      if (members[0] && 'at' in members[0])
        ctx.addIssue({
          code: 'custom',
          path: [0],
          message:
            'the first AND member drives the schedule: use "every" or "cron" there and put "at" later (it means "from this date on")',
        });
    })
    .describe('Fires at the first member’s times when every other member agrees'),
});
export const TriggerSchema = oneKeyOf({ every: Every, at: At, cron: Cron, or: Or, and: And }).meta({ id: 'Trigger' });

/** Call-Receive: the strategy runs when another agent (or a person) calls `call` on this agent. */
const CallReceiveSchema = obj({ call: Name.describe('The call name this strategy receives') });
export const WhenSchema = oneKeyOf({
  every: Every,
  at: At,
  cron: Cron,
  or: Or,
  and: And,
  call: CallReceiveSchema,
}).meta({
  id: 'When',
});

// ---- IF: constraints -----------------------------------------------------------------------

const Operand = switchUnion([RefSchema, Num, Str, Bool, Null], (input) => {
  const branch = scalar(input);
  if (branch !== undefined) return branch;
  if (isRef(input)) return RefSchema;
  return `expected a number, string, boolean, null or {"$ref": "beliefs.x"}, got ${describe(input)}`;
}).meta({ id: 'Operand' });
const RefOnly = switchUnion([RefSchema], (input) =>
  isRef(input) ? RefSchema : `expected {"$ref": "..."}, got ${describe(input)}`,
);

const compareMessage = 'expected [left, operator, right] like [{"$ref": "beliefs.count"}, ">=", 1000]';
const CompareTuple = z
  .tuple([Operand, z.enum(COMPARISONS, expecting(`one of ${COMPARISONS.join(' ')}`)), Operand])
  .meta({ minItems: 3, maxItems: 3 });
const Compare = obj({
  compare: switchUnion([CompareTuple], (input) =>
    Array.isArray(input) && input.length === 3 ? CompareTuple : compareMessage,
  ),
});
const Exists = obj({ exists: RefOnly });
const AllOf = obj({
  get and(): z.ZodArray<typeof ConstraintSchema> {
    return list(ConstraintSchema, 1, SPEC_LIMITS.constraintItems);
  },
});
const AnyOf = obj({
  get or(): z.ZodArray<typeof ConstraintSchema> {
    return list(ConstraintSchema, 1, SPEC_LIMITS.constraintItems);
  },
});
const Not = obj({
  get not(): typeof ConstraintSchema {
    return ConstraintSchema;
  },
});
export const ConstraintSchema = oneKeyOf({ compare: Compare, exists: Exists, and: AllOf, or: AnyOf, not: Not }).meta({
  id: 'Constraint',
});

// ---- sensors and THEN: actions -------------------------------------------------------------

/** Options of one activity call; defaults keep actions short and retried a few times. */
const activityOptions = {
  timeout: timeout().optional().describe('Start-to-close timeout (1s..7d), default "1m"'),
  heartbeat: timeout()
    .optional()
    .describe(
      'Heartbeat timeout (1s..7d); default "10s" for activities on the agent’s own task queue (its worker heartbeats for them), none elsewhere',
    ),
  attempts: integer(1, 100).optional().describe('Maximum attempts, default 5'),
  taskQueue: text().optional().describe('Task queue of the worker that registers the activity'),
};

/** A sensor turns observations into state (s = F(o)): an activity whose result is stored in `beliefs[as]`. */
export const SensorSchema = obj({
  activity: text().describe('Name of a registered activity'),
  args: JsonSchema.optional(),
  as: Key.describe('The result becomes beliefs.<as> and results.<as>'),
  ...activityOptions,
}).meta({ id: 'Sensor' });

const ActivityActionSchema = obj({
  activity: text().describe('Name of a registered activity (a primitive or a user action)'),
  args: JsonSchema.optional(),
  as: Key.optional().describe('The result becomes results.<as>'),
  remember: z.boolean(expecting('true or false')).optional().describe('Also keep the result as beliefs.<as>'),
  ...activityOptions,
});
/** Call another agent: a signal, or with `wait` an update returning the callee's outcome. */
const CallActionSchema = obj({
  call: obj({
    agent: Name,
    app: Name.optional().describe('Default: this agent’s app'),
    name: Name.describe('The callee’s Call-Receive name'),
    args: JsonSchema.optional(),
    wait: z
      .boolean(expecting('true or false'))
      .optional()
      .describe('Wait for the outcome (update) instead of a signal'),
  }),
  as: Key.optional(),
});
/** Run a child workflow (a batch workflow, the detector, load generation) and wait for its result. */
const ChildActionSchema = obj({
  child: obj({
    workflowType: text(),
    args: JsonSchema.optional(),
    workflowId: text().optional(),
    taskQueue: text().optional(),
    timeout: timeout(DURATION_LIMITS.maxChildTimeoutMs).optional().describe('Execution timeout (1s..366d)'),
  }),
  as: Key.optional(),
});
/** Change parameters of another agent (or this one when `agent` is omitted): a planner tuning a threshold. */
const TuneActionSchema = obj({
  tune: obj({ agent: Name.optional(), app: Name.optional(), parameters: Parameters }),
});
export const ActionSchema = oneKeyOf({
  activity: ActivityActionSchema,
  call: CallActionSchema,
  child: ChildActionSchema,
  tune: TuneActionSchema,
}).meta({ id: 'Action' });

// ---- strategies and the agent ----------------------------------------------------------------

export const StrategySchema = obj({
  name: Name.describe('Unique within the agent; names its trigger schedule'),
  when: WhenSchema,
  sense: list(SensorSchema, 0, SPEC_LIMITS.sensors).optional(),
  if: ConstraintSchema.optional(),
  then: list(ActionSchema, 0, SPEC_LIMITS.actions),
}).meta({ id: 'Strategy', description: 'WHEN an event, sense, IF the constraint holds THEN act' });

export const AgentSpecSchema = obj({
  app: Name.describe('The application the agent belongs to (workflow id scanflow.<app>.<name>)'),
  name: Name.describe('The agent’s name within its app'),
  template: z.enum(TEMPLATES, expecting(`one of ${TEMPLATES.join(', ')}`)).default('custom'),
  parameters: Parameters.default(() => ({})).describe('Values strategies read as params.*; tunable at run time'),
  decisionLogSize: integer(1, 1000).optional().describe('How many recent decisions the agent keeps (default 50)'),
  strategies: list(StrategySchema, 0, SPEC_LIMITS.strategies).superRefine((strategies, ctx) => {
    const seen = new Set<string>();
    strategies.forEach(({ name }, i) => {
      if (seen.has(name))
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate strategy name "${name}"` });
      seen.add(name);
    });
  }),
  $schema: z.string().max(1024).optional().describe('The JSON Schema of this file, for editors; ignored'),
})
  .transform(({ $schema: _schema, ...spec }) => spec)
  .meta({
    title: 'Scanflow agent spec',
    description: 'An agent: strategies WHEN / IF / THEN, run as a Temporal workflow',
  });

// ---- the types, inferred ------------------------------------------------------------------------

export type Trigger = z.output<typeof TriggerSchema>;
export type CallReceive = z.output<typeof CallReceiveSchema>;
export type When = z.output<typeof WhenSchema>;
export type Operand = z.output<typeof Operand>;
export type Constraint = z.output<typeof ConstraintSchema>;
export type ActivityOptions = { [K in keyof typeof activityOptions]?: z.output<(typeof activityOptions)[K]> };
export type Sensor = z.output<typeof SensorSchema>;
export type ActivityAction = z.output<typeof ActivityActionSchema>;
export type CallAction = z.output<typeof CallActionSchema>;
export type ChildAction = z.output<typeof ChildActionSchema>;
export type TuneAction = z.output<typeof TuneActionSchema>;
export type Action = z.output<typeof ActionSchema>;
export type Strategy = z.output<typeof StrategySchema>;
/** A validated spec: defaults filled in. */
export type AgentSpec = z.output<typeof AgentSpecSchema>;
/** What an author writes (template and parameters may be left out). */
export type AgentSpecInput = z.input<typeof AgentSpecSchema>;

export function isCallReceive(when: When): when is CallReceive {
  return 'call' in when;
}
