/**
 * The messages an agent workflow understands, shared by the agent, the trigger workflow, the
 * typed client and the CLI. Names are stable: `temporal workflow signal --name call`,
 * `temporal workflow query --type state`, `temporal workflow update execute --name callAndWait`.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AgentSpec, Json, Strategy } from './spec.js';

/** Sent by a trigger workflow when a strategy's schedule fires. */
export interface TriggerFired {
  strategy: string;
  /** Nominal fire time (ISO), from the schedule. */
  firedAt: string;
  /** Why the trigger workflow let it through (AND verdicts, manual triggers). */
  reason?: string;
}

/** Call-Receive: `name` selects the strategies whose `when` is `{ call: name }`. */
export interface AgentCall {
  name: string;
  args?: Json;
  /** Workflow id of the calling agent, or a person/tool name. */
  caller?: string;
  /** De-duplication key: a repeated id is processed once (remembered across continue-as-new). */
  callId?: string;
}

export type AgentEvent =
  ({ kind: 'trigger'; seq: number } & TriggerFired) | ({ kind: 'call'; seq: number; callId: string } & AgentCall);

export interface ActionRecord {
  action: string;
  ok: boolean;
  result?: Json;
  error?: string;
}

export type DecisionOutcome = 'acted' | 'constraint-false' | 'failed' | 'no-strategy' | 'dropped';

/** One entry of the bounded decision log: what happened, what was observed, what was decided and done. */
export interface Decision {
  seq: number;
  at: string;
  event: AgentEvent;
  strategy: string | null;
  observed: Record<string, Json>;
  constraint: boolean | null;
  actions: ActionRecord[];
  outcome: DecisionOutcome;
  error?: string;
}

/** What a caller of the `callAndWait` update gets back ("IF successful_call"). */
export interface CallOutcome {
  callId: string;
  /** True when the call id had been seen before: the first outcome is returned again. */
  duplicate: boolean;
  /** At least one strategy ran and none failed. */
  ok: boolean;
  runs: { strategy: string | null; outcome: DecisionOutcome; results: Record<string, Json> }[];
}

export type AgentStatus = 'running' | 'paused' | 'stopped';

/** The agent's whole state: one serialisable object, carried across continue-as-new. */
export interface AgentState {
  spec: AgentSpec;
  status: AgentStatus;
  beliefs: Record<string, Json>;
  decisions: Decision[];
  /** Sequence number of the last accepted event. */
  seq: number;
  /** Events fully processed since the agent was first started. */
  processed: number;
  /** Recently seen call ids with their outcome (null while still queued). */
  recentCalls: { callId: string; outcome: CallOutcome | null }[];
  /** Schedule ids this agent created (so removed strategies lose theirs). */
  scheduleIds: string[];
  schedulesSynced: boolean;
  /** How many times the agent continued-as-new. */
  generations: number;
  /** Trigger fires dropped because enough fires of the same strategy were already queued (a strategy slower than its interval). */
  coalesced: number;
  /** Calls and fires refused: the queue was full, or the call was malformed (see the decision log). */
  refused: number;
}

/** Carried from one run to the next on continue-as-new (the spec travels once, as the first argument). */
export interface AgentCarry {
  state: Omit<AgentState, 'spec' | 'coalesced' | 'refused'> &
    Partial<Pick<AgentState, 'spec' | 'coalesced' | 'refused'>>;
  pending: AgentEvent[];
}

export interface AgentStateView {
  workflowId: string;
  app: string;
  agent: string;
  template: string;
  status: AgentStatus;
  beliefs: Record<string, Json>;
  parameters: Record<string, Json>;
  pending: number;
  /** Serialized size of the queued events (bytes of JSON). */
  pendingBytes: number;
  processed: number;
  /** Trigger fires coalesced into queued fires of the same strategy (overflow policy, see README "Limits"). */
  coalesced: number;
  /** Calls and fires refused (queue full, malformed call). */
  refused: number;
  generations: number;
  scheduleIds: string[];
}

export const triggerSignal = defineSignal<[TriggerFired]>('trigger');
export const callSignal = defineSignal<[AgentCall]>('call');
export const callAndWaitUpdate = defineUpdate<CallOutcome, [AgentCall]>('callAndWait');
export const addStrategyUpdate = defineUpdate<string[], [Strategy]>('addStrategy');
export const replaceStrategyUpdate = defineUpdate<string[], [Strategy]>('replaceStrategy');
export const removeStrategyUpdate = defineUpdate<string[], [string]>('removeStrategy');
export const setParametersUpdate = defineUpdate<Record<string, Json>, [Record<string, Json>]>('setParameters');
export const pauseUpdate = defineUpdate<AgentStatus, []>('pause');
export const resumeUpdate = defineUpdate<AgentStatus, []>('resume');
export const stopUpdate = defineUpdate<string[], [string]>('stop');
export const stateQuery = defineQuery<AgentStateView>('state');
export const strategiesQuery = defineQuery<Strategy[]>('strategies');
export const decisionsQuery = defineQuery<Decision[], [number?]>('decisions');
