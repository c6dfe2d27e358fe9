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
import { callIssues, parametersIssues, strategyChangeIssues } from './validate.js';
import { SPEC_LIMITS, STATE_LIMITS, jsonBytes } from './limits.js';

export const DEFAULT_DECISION_LOG = 50;
/** Call ids remembered for de-duplication (carried across continue-as-new). */
export const RECENT_CALLS = STATE_LIMITS.recentCalls;

type CallEvent = AgentEvent & { kind: 'call' };
/** A remembered call: its outcome is null while the call is still queued. */
export type CallEntry = AgentState['recentCalls'][number];
export type Run = CallOutcome['runs'][number];

function rejected(message: string, type: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}

/** `{ "$truncated": bytes }` in place of a value larger than `max` bytes of JSON. */
export function shrink(value: Json | undefined, max: number): Json | undefined {
  if (value === undefined) return undefined;
  const bytes = jsonBytes(value);
  return bytes <= max ? value : { $truncated: bytes };
}

function cut(text: string | undefined, max = 2000): string | undefined {
  return text === undefined || text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

function shrinkEvent(event: AgentEvent, max: number): AgentEvent {
  return event.kind === 'call' && event.args !== undefined ? { ...event, args: shrink(event.args, max)! } : event;
}

/** A decision that fits `max` bytes: big observations, results, args and messages are replaced by their size. */
export function fitDecision(decision: Decision, max: number = STATE_LIMITS.decisionBytes): Decision {
  if (jsonBytes(decision) <= max) return decision;
  for (const part of [Math.floor(max / 8), 0]) {
    const fitted: Decision = {
      ...decision,
      event: shrinkEvent(decision.event, part),
      observed: Object.fromEntries(Object.entries(decision.observed).map(([k, v]) => [k, shrink(v, part)!])),
      actions: decision.actions.map((a) => {
        const out = { ...a, ...(a.result === undefined ? {} : { result: shrink(a.result, part) }) };
        const error = cut(a.error, part === 0 ? 200 : 2000);
        return error === undefined ? out : { ...out, error };
      }),
      ...(decision.error === undefined ? {} : { error: cut(decision.error, part === 0 ? 200 : 2000) }),
    };
    if (jsonBytes(fitted) <= max || part === 0) return fitted;
  }
  return decision;
}

/** A remembered outcome that fits `max` bytes: big results are replaced by their size. */
export function fitOutcome(outcome: CallOutcome, max: number = STATE_LIMITS.outcomeBytes): CallOutcome {
  if (jsonBytes(outcome) <= max) return outcome;
  for (const part of [Math.floor(max / 8), 0]) {
    const fitted: CallOutcome = {
      ...outcome,
      runs: outcome.runs.map((r) => ({
        ...r,
        results:
          part === 0
            ? { $truncated: jsonBytes(r.results) }
            : (Object.fromEntries(Object.entries(r.results).map(([k, v]) => [k, shrink(v, part)!])) as Record<
                string,
                Json
              >),
      })),
    };
    if (jsonBytes(fitted) <= max || part === 0) return fitted;
  }
  return outcome;
}

/** Why a value may not be kept as `beliefs[as]` (too large alone, or with the other beliefs), or undefined. */
export function beliefProblem(beliefs: Record<string, Json>, as: string, value: Json): string | undefined {
  const bytes = jsonBytes(value);
  if (bytes > STATE_LIMITS.beliefBytes)
    return `${as}: a result of ${bytes} bytes cannot be kept as a belief (at most ${STATE_LIMITS.beliefBytes}); return less, or use it within the run (results.${as}) without keeping it`;
  const others = jsonBytes({ ...beliefs, [as]: null });
  if (others + bytes > STATE_LIMITS.beliefsBytes)
    return `${as}: the beliefs would take ${others + bytes} bytes (at most ${STATE_LIMITS.beliefsBytes})`;
  return undefined;
}

/** The spec with a parameter change applied, or a non-retryable failure naming each bad field (nothing applied). */
export function changedParameters(spec: AgentSpec, change: unknown): Record<string, Json> {
  const issues = parametersIssues(change, spec);
  if (issues.length > 0) throw rejected(`invalid parameters: ${issues.join('; ')}`, 'InvalidAgentSpec');
  return { ...spec.parameters, ...(change as Record<string, Json>) };
}

export class Agent {
  readonly state: AgentState;
  /** Set once `stop` was asked for; the main loop then drops the queue and finishes. */
  stopReason: string | undefined;
  private readonly pending: AgentEvent[];
  private pendingBytes: number;
  private readonly calls: Map<string, CallEntry>;
  private readonly callBytes = new Map<string, number>();
  private callsBytes = 0;
  private readonly decisionBytes: number[];
  private decisionsBytes: number;
  /** Full outcomes for callers waiting on `callAndWait` (the remembered copy may be trimmed). */
  private readonly waiting = new Map<string, CallOutcome | null>();

  constructor(
    spec: AgentSpec,
    readonly workflowId: string,
    carried?: AgentCarry,
  ) {
    this.state = carried
      ? { coalesced: 0, refused: 0, ...carried.state, spec, generations: carried.state.generations + 1 }
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
          coalesced: 0,
          refused: 0,
        };
    this.pending = carried ? [...carried.pending] : [];
    this.pendingBytes = this.pending.reduce((n, e) => n + jsonBytes(e), 0);
    this.calls = new Map(this.state.recentCalls.map((c) => [c.callId, c]));
    for (const c of this.state.recentCalls) this.noteCallBytes(c);
    this.decisionBytes = this.state.decisions.map((d) => jsonBytes(d));
    this.decisionsBytes = this.decisionBytes.reduce((a, b) => a + b, 0);
    this.trimCalls();
    this.trimDecisions();
  }

  // ---- events ---------------------------------------------------------------------------------

  /** The queued events, oldest first (read-only: use next() to take one). */
  get queue(): readonly AgentEvent[] {
    return this.pending;
  }

  /** Takes the next event to process. */
  next(): AgentEvent | undefined {
    const event = this.pending.shift();
    if (event) this.pendingBytes -= jsonBytes(event);
    return event;
  }

  /** Why the queue cannot take an event of `bytes` more, or undefined. */
  private queueFull(bytes: number): string | undefined {
    if (this.pending.length >= STATE_LIMITS.queueEvents)
      return `the agent's queue is full (${this.pending.length} events waiting, at most ${STATE_LIMITS.queueEvents}): try again later`;
    if (this.pendingBytes + bytes > STATE_LIMITS.queueBytes)
      return `the agent's queue is full (${this.pendingBytes} bytes waiting, at most ${STATE_LIMITS.queueBytes}): try again later`;
    return undefined;
  }

  private push(event: AgentEvent, bytes: number): void {
    this.pending.push(event);
    this.pendingBytes += bytes;
  }

  /**
   * Queues a schedule fire. Overflow policy: when `firesPerStrategy` fires of the same strategy
   * are already waiting (the strategy is slower than its interval), this one is dropped and
   * counted in `coalesced`; a malformed fire or a full queue is counted in `refused`.
   * Returns whether the fire was queued.
   */
  acceptTrigger(fired: TriggerFired): boolean {
    const malformed =
      typeof fired?.strategy !== 'string' ||
      fired.strategy.length > SPEC_LIMITS.textLength ||
      typeof fired.firedAt !== 'string' ||
      fired.firedAt.length > 64 ||
      (fired.reason !== undefined && (typeof fired.reason !== 'string' || fired.reason.length > 1000));
    if (malformed) {
      this.state.refused += 1;
      return false;
    }
    const queued = this.pending.filter((e) => e.kind === 'trigger' && e.strategy === fired.strategy).length;
    if (queued >= STATE_LIMITS.firesPerStrategy) {
      this.state.coalesced += 1;
      return false;
    }
    const event: AgentEvent = {
      kind: 'trigger',
      seq: this.state.seq + 1,
      strategy: fired.strategy,
      firedAt: fired.firedAt,
      ...(fired.reason === undefined ? {} : { reason: fired.reason }),
    };
    const bytes = jsonBytes(event);
    if (this.queueFull(bytes)) {
      this.state.refused += 1;
      return false;
    }
    this.state.seq += 1;
    this.push(event, bytes);
    return true;
  }

  /**
   * Queues a call unless its id was seen; a duplicate gets the remembered entry (and its outcome).
   * A call the queue cannot take (or a malformed one, sent as a signal) is refused: counted in
   * `refused`, recorded as a `dropped` decision, and its id is not remembered (a retry may succeed).
   */
  acceptCall(
    call: AgentCall & { callId: string },
    waiter = false,
  ): { entry: CallEntry; duplicate: boolean; refused?: string } {
    const seen = this.calls.get(call.callId);
    if (seen) return { entry: seen, duplicate: true };
    const issues = callIssues(call);
    const event = { ...call, kind: 'call', seq: this.state.seq + 1 } as AgentEvent;
    const bytes = issues.length > 0 ? 0 : jsonBytes(event);
    const refusal = issues.length > 0 ? `invalid call: ${issues.join('; ')}` : this.queueFull(bytes);
    if (refusal !== undefined) {
      this.state.refused += 1;
      const shown: AgentEvent = {
        kind: 'call',
        seq: this.state.seq,
        name: String(call.name).slice(0, 64),
        callId: String(call.callId).slice(0, SPEC_LIMITS.textLength),
      };
      this.record({ ...this.emptyDecision(shown, 'dropped'), error: refusal });
      const runs: Run[] = [{ strategy: null, outcome: 'dropped', results: {} }];
      return {
        entry: { callId: call.callId, outcome: { callId: call.callId, duplicate: false, ok: false, runs } },
        duplicate: false,
        refused: refusal,
      };
    }
    this.state.seq += 1;
    const entry: CallEntry = { callId: call.callId, outcome: null };
    this.state.recentCalls.push(entry);
    this.calls.set(call.callId, entry);
    this.noteCallBytes(entry);
    if (waiter) this.waiting.set(call.callId, null);
    this.trimCalls();
    this.push(event, bytes);
    return { entry, duplicate: false };
  }

  /** The validator of `callAndWait`: a malformed call or a full queue is rejected before anything changes. */
  checkCall(call: AgentCall | undefined): void {
    const issues = callIssues(call);
    if (issues.length > 0) throw rejected(`invalid call: ${issues.join('; ')}`, 'InvalidCall');
    if (this.stopping) throw rejected(`agent ${this.workflowId} is stopping`, 'AgentStopping');
    if (call!.callId !== undefined && this.calls.has(call!.callId)) return;
    const full = this.queueFull(jsonBytes({ ...call, kind: 'call', seq: this.state.seq + 1 }));
    if (full) throw rejected(full, 'AgentQueueFull');
  }

  /** The outcome for a waiting caller: the whole one when this caller queued the call, else the remembered one. */
  takeOutcome(entry: CallEntry, duplicate: boolean): CallOutcome {
    if (duplicate) return entry.outcome!;
    const full = this.waiting.get(entry.callId);
    this.waiting.delete(entry.callId);
    return full ?? entry.outcome!;
  }

  /** An event can be processed now. */
  get ready(): boolean {
    return this.state.status === 'running' && this.pending.length > 0;
  }

  /** The strategies an event selects: its schedule's strategy, or every receiver of the call's name. */
  strategiesFor(event: AgentEvent): Strategy[] {
    return this.state.spec.strategies.filter((s) =>
      event.kind === 'trigger'
        ? s.name === event.strategy && !isCallReceive(s.when)
        : isCallReceive(s.when) && s.when.call === event.name,
    );
  }

  /**
   * Keeps a decision (big values replaced by their size, see fitDecision), dropping the oldest
   * beyond the spec's `decisionLogSize` or the log's byte limit.
   */
  record(decision: Decision): void {
    const fitted = fitDecision(decision);
    const bytes = jsonBytes(fitted);
    this.state.decisions.push(fitted);
    this.decisionBytes.push(bytes);
    this.decisionsBytes += bytes;
    this.trimDecisions();
  }

  private trimDecisions(budget: number = STATE_LIMITS.decisionsBytes): void {
    const limit = this.state.spec.decisionLogSize ?? DEFAULT_DECISION_LOG;
    while (
      this.state.decisions.length > 0 &&
      (this.state.decisions.length > limit || (this.decisionsBytes > budget && this.state.decisions.length > 1))
    ) {
      this.state.decisions.shift();
      this.decisionsBytes -= this.decisionBytes.shift() ?? 0;
    }
  }

  private noteCallBytes(entry: CallEntry): void {
    const bytes = jsonBytes(entry);
    this.callsBytes += bytes - (this.callBytes.get(entry.callId) ?? 0);
    this.callBytes.set(entry.callId, bytes);
  }

  /** Forgets the oldest answered calls beyond the count or byte limit (queued ones are kept: their callers wait). */
  private trimCalls(): void {
    const calls = this.state.recentCalls;
    while (calls.length > STATE_LIMITS.recentCalls || this.callsBytes > STATE_LIMITS.recentCallsBytes) {
      const i = calls.findIndex((c) => c.outcome !== null);
      if (i < 0) break;
      const [gone] = calls.splice(i, 1);
      this.calls.delete(gone!.callId);
      this.callsBytes -= this.callBytes.get(gone!.callId) ?? 0;
      this.callBytes.delete(gone!.callId);
    }
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
    this.pendingBytes = 0;
    for (const event of this.pending.splice(0)) {
      this.record({ ...this.emptyDecision(event, 'dropped'), error: `agent stopped: ${this.stopReason}` });
      if (event.kind === 'call') this.answer(event, false, [{ strategy: null, outcome: 'dropped', results: {} }]);
    }
  }

  private answer(event: CallEvent, ok: boolean, runs: Run[]): void {
    const outcome: CallOutcome = { callId: event.callId, duplicate: false, ok, runs };
    if (this.waiting.has(event.callId)) this.waiting.set(event.callId, outcome);
    const entry = this.calls.get(event.callId);
    if (!entry) return;
    entry.outcome = fitOutcome(outcome);
    this.noteCallBytes(entry);
    this.trimCalls();
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

  /** The validator of `addStrategy` / `replaceStrategy`: the strategy, and the spec as it would become. */
  checkStrategy(strategy: Strategy, kind: 'add' | 'replace'): void {
    const issues = strategyChangeIssues(strategy, this.state.spec, kind);
    if (issues.length > 0) throw rejected(`invalid strategy: ${issues.join('; ')}`, 'InvalidAgentSpec');
  }

  /** The validator of `removeStrategy`. */
  checkRemove(name: unknown): void {
    if (typeof name !== 'string' || !this.hasStrategy(name))
      throw rejected(`no strategy ${JSON.stringify(name)?.slice(0, 80)} to remove`, 'UnknownStrategy');
  }

  /** Sets the strategies back (a change whose schedules could not follow). */
  restoreStrategies(strategies: Strategy[]): void {
    this.state.spec.strategies = strategies;
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

  /** The validator of `setParameters`: every value by the spec's rules, and the spec as it would become. */
  checkParameters(parameters: unknown): void {
    changedParameters(this.state.spec, parameters);
  }

  /** Applies a parameter change all at once (validated again: a tune from a strategy has no validator). */
  setParameters(parameters: Record<string, Json>): Record<string, Json> {
    this.state.spec.parameters = changedParameters(this.state.spec, parameters);
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
      pending: this.pending.length,
      pendingBytes: this.pendingBytes,
      processed: this.state.processed,
      coalesced: this.state.coalesced,
      refused: this.state.refused,
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

  /**
   * The input of the next run on continue-as-new: the state (without the spec, which is the first
   * argument) and the events still queued. Each part is bounded (limits.ts); should the whole
   * still exceed `carryBytes`, the oldest decisions go first, so continue-as-new never fails.
   */
  carry(): AgentCarry {
    const specBytes = jsonBytes(this.state.spec);
    const make = (): AgentCarry => {
      const { spec: _spec, ...state } = this.state;
      return { state, pending: this.pending };
    };
    let carry = make();
    let budget = this.decisionsBytes;
    while (jsonBytes(carry) + specBytes > STATE_LIMITS.carryBytes && this.state.decisions.length > 1) {
      budget = Math.floor(budget / 2);
      this.trimDecisions(budget);
      carry = make();
    }
    return carry;
  }
}
