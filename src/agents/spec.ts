/**
 * The declarative agent model (paper section IV): an agent is a set of strategies, each
 * WHEN an event happens, IF a constraint over the agent's observations holds, THEN run actions.
 * Everything here is plain JSON so an agent can be started from the `temporal` CLI, shown in
 * the Temporal UI and changed at run time. Pure TypeScript: importable from workflow code.
 */

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

/** Table III triggers plus the hybrid AND / OR of them. Durations like "10s", dates ISO 8601, cron 5–7 fields. */
export type Trigger =
  { every: string; offset?: string } | { at: string } | { cron: string } | { or: Trigger[] } | { and: Trigger[] };

/** Call-Receive: the strategy runs when another agent (or a person) calls `call` on this agent. */
export interface CallReceive {
  call: string;
}

export type When = Trigger | CallReceive;

export type Comparison = '>' | '>=' | '<' | '<=' | '==' | '!=';
export type Operand = Ref | number | string | boolean | null;

export type Constraint =
  | { compare: [Operand, Comparison, Operand] }
  | { exists: Ref }
  | { and: Constraint[] }
  | { or: Constraint[] }
  | { not: Constraint };

/** Options of one activity call; defaults keep actions short and retried a few times. */
export interface ActivityOptions {
  /** start-to-close timeout, default "1m". */
  timeout?: string;
  /** heartbeat timeout for long activities (lets a crashed worker's attempt be retried quickly). */
  heartbeat?: string;
  /** maximum attempts, default 5. */
  attempts?: number;
  /** task queue of the worker that registers the activity (default: the agent's task queue). */
  taskQueue?: string;
}

/** A sensor turns observations into state (s = F(o)): an activity whose result is stored in `beliefs[as]`. */
export interface Sensor extends ActivityOptions {
  activity: string;
  args?: Json | Ref;
  as: string;
}

/** Run a named activity (a primitive, or a user-registered action). The result goes to `results[as]` (and `beliefs[as]` if `remember`). */
export interface ActivityAction extends ActivityOptions {
  activity: string;
  args?: Json | Ref;
  as?: string;
  remember?: boolean;
}

/** Call another agent. `wait: false` (default) sends a signal; `wait: true` sends an update and waits for its outcome. */
export interface CallAction {
  call: { agent: string; app?: string; name: string; args?: Json | Ref; wait?: boolean };
  as?: string;
}

/** Run a child workflow (a batch workflow, the detector, load generation) and wait for its result. */
export interface ChildAction {
  child: { workflowType: string; args?: Json | Ref; workflowId?: string; taskQueue?: string; timeout?: string };
  as?: string;
}

/** Change parameters of another agent (or this one when `agent` is omitted): a planner tuning a threshold. */
export interface TuneAction {
  tune: { agent?: string; app?: string; parameters: Record<string, Json | Ref> };
}

export type Action = ActivityAction | CallAction | ChildAction | TuneAction;

export interface Strategy {
  name: string;
  when: When;
  sense?: Sensor[];
  if?: Constraint;
  then: Action[];
}

export const TEMPLATES = ['tracker', 'checker', 'planner', 'executor', 'custom'] as const;
export type TemplateName = (typeof TEMPLATES)[number];

export interface AgentSpec {
  app: string;
  name: string;
  template: TemplateName;
  strategies: Strategy[];
  parameters: Record<string, Json>;
  /** How many recent decisions the agent keeps (default 50). */
  decisionLogSize?: number;
}

export function isRef(value: unknown): value is Ref {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as Ref).$ref === 'string' &&
    Object.keys(value).length === 1
  );
}

export function isCallReceive(when: When): when is CallReceive {
  return 'call' in when;
}
