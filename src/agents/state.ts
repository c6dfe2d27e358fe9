/**
 * What an agent workflow knows, as one small class the workflow's message handlers call into:
 * the queue of events, the bounded decision log, the remembered call ids with their outcomes, the
 * strategies and parameters, the one `view()` the `state` query and the result share, and the one
 * place the search attributes are built. It does no I/O (the workflow runs the strategies and the
 * schedule activities) and is workflow-safe, in the style of Temporal's safe-message-handlers sample.
 */
import { ApplicationFailure, type SearchAttributePair } from '@temporalio/common';
import { agentSearchAttributes } from './conventions.js';
import type {
  AgentCall,
  AgentCarry,
  AgentEvent,
  AgentState,
  AgentStateView,
  AgentStatus,
  CallOutcome,
  Decision,
  TriggerFired,
} from './messages.js';
import { isCallReceive, type AgentSpec, type Json, type Strategy } from './spec.js';
import { strategyIssues } from './validate.js';

export const DEFAULT_DECISION_LOG = 50;
/** Call ids remembered for de-duplication (carried across continue-as-new). */
export const RECENT_CALLS = 500;

type CallEvent = AgentEvent & { kind: 'call' };
/** A remembered call: its outcome is null while the call is still queued. */
export type CallEntry = AgentState['recentCalls'][number];
export type Run = CallOutcome['runs'][number];

function rejected(message: string, type: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}

export class Agent {
  readonly state: AgentState;
  readonly queue: AgentEvent[];
  /** Set once `stop` was asked for; the main loop then drops the queue and finishes. */
  stopReason: string | undefined;
  private readonly calls: Map<string, CallEntry>;

  constructor(
    spec: AgentSpec,
    readonly workflowId: string,
    carried?: AgentCarry,
  ) {
    this.state = carried
      ? { ...carried.state, spec, generations: carried.state.generations + 1 }
      : {
          spec,
          status: 'running',
          beliefs: {},
          decisions: [],
          seq: 0,
          processed: 0,
          recentCalls: [],
          scheduleIds: [],
          schedulesSynced: false,
          generations: 0,
        };
    this.queue = carried ? [...carried.pending] : [];
    this.calls = new Map(this.state.recentCalls.map((c) => [c.callId, c]));
  }

  // ---- events ---------------------------------------------------------------------------------

  acceptTrigger(fired: TriggerFired): void {
    this.queue.push({ kind: 'trigger', seq: ++this.state.seq, ...fired });
  }

  /** Queues a call unless its id was seen; a duplicate gets the remembered entry (and its outcome). */
  acceptCall(call: AgentCall & { callId: string }): { entry: CallEntry; duplicate: boolean } {
    const seen = this.calls.get(call.callId);
    if (seen) return { entry: seen, duplicate: true };
    const entry: CallEntry = { callId: call.callId, outcome: null };
    this.state.recentCalls.push(entry);
    this.calls.set(call.callId, entry);
    while (this.state.recentCalls.length > RECENT_CALLS) this.calls.delete(this.state.recentCalls.shift()!.callId);
    this.queue.push({ ...call, kind: 'call', seq: ++this.state.seq });
    return { entry, duplicate: false };
  }

  /** The validator of `callAndWait`. */
  checkCall(call: AgentCall | undefined): void {
    if (typeof call?.name !== 'string' || call.name.length === 0)
      throw rejected('call.name: expected the name of a Call-Receive strategy', 'InvalidCall');
    if (this.stopping) throw rejected(`agent ${this.workflowId} is stopping`, 'AgentStopping');
  }

  /** An event can be processed now. */
  get ready(): boolean {
    return this.state.status === 'running' && this.queue.length > 0;
  }

  /** The strategies an event selects: its schedule's strategy, or every receiver of the call's name. */
  strategiesFor(event: AgentEvent): Strategy[] {
    return this.state.spec.strategies.filter((s) =>
      event.kind === 'trigger'
        ? s.name === event.strategy && !isCallReceive(s.when)
        : isCallReceive(s.when) && s.when.call === event.name,
    );
  }

  /** Keeps a decision, dropping the oldest beyond the spec's `decisionLogSize`. */
  record(decision: Decision): void {
    this.state.decisions.push(decision);
    const limit = this.state.spec.decisionLogSize ?? DEFAULT_DECISION_LOG;
    if (this.state.decisions.length > limit) this.state.decisions.splice(0, this.state.decisions.length - limit);
  }

  /** Closes an event after its strategies ran (none: a `no-strategy` decision) and answers a waiting caller. */
  finish(event: AgentEvent, runs: Run[]): void {
    if (runs.length === 0) {
      this.record(this.emptyDecision(event, 'no-strategy'));
      runs = [{ strategy: null, outcome: 'no-strategy', results: {} }];
    }
    this.state.processed += 1;
    if (event.kind !== 'call') return;
    const ok =
      runs.every((r) => r.outcome === 'acted' || r.outcome === 'constraint-false') &&
      runs.some((r) => r.strategy !== null);
    this.answer(event, ok, runs);
  }

  /** On stop: every queued event becomes a `dropped` decision and its caller is answered. */
  dropQueued(): void {
    for (const event of this.queue.splice(0)) {
      this.record({ ...this.emptyDecision(event, 'dropped'), error: `agent stopped: ${this.stopReason}` });
      if (event.kind === 'call') this.answer(event, false, [{ strategy: null, outcome: 'dropped', results: {} }]);
    }
  }

  private answer(event: CallEvent, ok: boolean, runs: Run[]): void {
    const entry = this.calls.get(event.callId);
    if (entry) entry.outcome = { callId: event.callId, duplicate: false, ok, runs };
  }

  private emptyDecision(event: AgentEvent, outcome: 'no-strategy' | 'dropped'): Decision {
    return {
      seq: event.seq,
      at: new Date().toISOString(),
      event,
      strategy: null,
      observed: {},
      constraint: null,
      actions: [],
      outcome,
    };
  }

  // ---- run-time changes -------------------------------------------------------------------------

  /** The validator of `addStrategy` / `replaceStrategy`. */
  checkStrategy(strategy: Strategy): void {
    const issues = strategyIssues(strategy);
    if (issues.length > 0) throw rejected(`invalid strategy: ${issues.join('; ')}`, 'InvalidAgentSpec');
  }

  addStrategy(strategy: Strategy): void {
    if (this.hasStrategy(strategy.name))
      throw rejected(`strategy.name: "${strategy.name}" already exists (use replaceStrategy)`, 'InvalidAgentSpec');
    this.state.spec.strategies = [...this.state.spec.strategies, strategy];
  }

  replaceStrategy(strategy: Strategy): void {
    if (!this.hasStrategy(strategy.name))
      throw rejected(`strategy.name: no strategy "${strategy.name}" to replace`, 'UnknownStrategy');
    this.state.spec.strategies = this.state.spec.strategies.map((s) => (s.name === strategy.name ? strategy : s));
  }

  removeStrategy(name: string): void {
    if (!this.hasStrategy(name)) throw rejected(`no strategy "${name}" to remove`, 'UnknownStrategy');
    this.state.spec.strategies = this.state.spec.strategies.filter((s) => s.name !== name);
  }

  strategyNames(): string[] {
    return this.state.spec.strategies.map((s) => s.name);
  }

  private hasStrategy(name: string): boolean {
    return this.state.spec.strategies.some((s) => s.name === name);
  }

  /** The validator of `setParameters`. */
  checkParameters(parameters: unknown): void {
    if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters))
      throw rejected('parameters: expected an object of name → value', 'InvalidAgentSpec');
  }

  setParameters(parameters: Record<string, Json>): Record<string, Json> {
    this.state.spec.parameters = { ...this.state.spec.parameters, ...parameters };
    return this.state.spec.parameters;
  }

  /** Pauses a running agent; true when it was running. */
  pause(): boolean {
    return this.moveStatus('running', 'paused');
  }

  /** Resumes a paused agent; true when it was paused. */
  resume(): boolean {
    return this.moveStatus('paused', 'running');
  }

  private moveStatus(from: AgentStatus, to: AgentStatus): boolean {
    if (this.state.status !== from) return false;
    this.state.status = to;
    return true;
  }

  requestStop(reason: string): void {
    this.stopReason = reason || 'stop requested';
  }

  get stopping(): boolean {
    return this.stopReason !== undefined;
  }

  /** The last step of stopping, once the queue was dropped and the schedules deleted. */
  markStopped(): void {
    this.state.status = 'stopped';
  }

  // ---- what others see ----------------------------------------------------------------------------

  /** The `state` query, and the workflow's result. */
  view(): AgentStateView {
    const { spec } = this.state;
    return {
      workflowId: this.workflowId,
      app: spec.app,
      agent: spec.name,
      template: spec.template,
      status: this.state.status,
      beliefs: this.state.beliefs,
      parameters: spec.parameters,
      pending: this.queue.length,
      processed: this.state.processed,
      generations: this.state.generations,
      scheduleIds: this.state.scheduleIds,
    };
  }

  decisions(last?: number): Decision[] {
    return last ? this.state.decisions.slice(-last) : this.state.decisions;
  }

  /** The search attributes an operator finds the agent by (`ScanflowKind='agent' AND ScanflowApp=…`). */
  searchAttributes(): SearchAttributePair[] {
    return agentSearchAttributes(this.state.spec, this.state.status);
  }

  /** The input of the next run on continue-as-new: the state and the events still queued. */
  carry(): AgentCarry {
    return { state: this.state, pending: this.queue };
  }
}
