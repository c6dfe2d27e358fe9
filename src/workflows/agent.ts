/**
 * The agent workflow: one long-lived execution per agent (id `scanflow.<app>.<agent>`, task queue
 * `scanflow-agents` by default). Events (schedule fires and Call-Receive calls) are queued by the
 * message handlers and processed one at a time, in arrival order, by the main loop. A strategy run
 * is sensors (activities) → constraint → actions; each step is an activity or child workflow, so
 * a crash in the middle resumes after the last completed step. State is one object carried across
 * continue-as-new together with the events still queued.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { AgentSpec, Json, Strategy } from '../agents/spec.js';
import { isCallReceive } from '../agents/spec.js';
import { validateAgentSpec, strategyIssues, SpecError } from '../agents/validate.js';
import {
  ScanflowAgent,
  ScanflowApp,
  ScanflowKind,
  ScanflowState,
  ScanflowTemplate,
} from '../agents/conventions.js';
import {
  type AgentCarry,
  type AgentEvent,
  type AgentState,
  type AgentStateView,
  type CallOutcome,
  type Decision,
  addStrategyUpdate,
  callAndWaitUpdate,
  callSignal,
  decisionsQuery,
  pauseUpdate,
  removeStrategyUpdate,
  replaceStrategyUpdate,
  resumeUpdate,
  setParametersUpdate,
  stateQuery,
  stopUpdate,
  strategiesQuery,
  triggerSignal,
} from '../agents/messages.js';
import { runStrategy } from './agent-run.js';
import { agentOps } from './agent-ops.js';

const DEFAULT_DECISION_LOG = 50;
const RECENT_CALLS = 500;

function initialState(spec: AgentSpec): AgentState {
  return {
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
}

function rejectSpec(err: unknown): never {
  if (err instanceof SpecError) throw ApplicationFailure.nonRetryable(err.message, 'InvalidAgentSpec');
  throw err;
}

/** Starts (or continues) an agent. The input is the agent spec as JSON, so `temporal workflow start --input-file agent.json` works. */
export async function agentWorkflow(rawSpec: AgentSpec, carried?: AgentCarry): Promise<AgentStateView> {
  let spec: AgentSpec;
  try {
    spec = validateAgentSpec(rawSpec);
  } catch (err) {
    rejectSpec(err);
  }
  const info = workflowInfo();
  const state: AgentState = carried
    ? { ...carried.state, spec, generations: carried.state.generations + 1 }
    : initialState(spec);
  const queue: AgentEvent[] = carried ? [...carried.pending] : [];
  const ops = agentOps(state, info.workflowId, info.taskQueue);
  let stopRequested = false;
  let stopReason = '';

  const outcomes = new Map(state.recentCalls.map((c) => [c.callId, c]));
  const rememberCall = (callId: string) => {
    const entry = { callId, outcome: null as CallOutcome | null };
    state.recentCalls.push(entry);
    outcomes.set(callId, entry);
    while (state.recentCalls.length > RECENT_CALLS) outcomes.delete(state.recentCalls.shift()!.callId);
    return entry;
  };

  const publishState = () => upsertSearchAttributes([{ key: ScanflowState, value: state.status }]);
  upsertSearchAttributes([
    { key: ScanflowKind, value: 'agent' },
    { key: ScanflowApp, value: spec.app },
    { key: ScanflowAgent, value: spec.name },
    { key: ScanflowTemplate, value: spec.template },
    { key: ScanflowState, value: state.status },
  ]);

  /** Accepts a call into the queue unless its id was seen; returns the remembered entry for duplicates. */
  const enqueueCall = (
    call:
      (AgentEvent & { kind: 'call' }) | (Omit<AgentEvent & { kind: 'call' }, 'seq' | 'callId'> & { callId?: string }),
  ) => {
    const callId = call.callId ?? uuid4();
    const seen = outcomes.get(callId);
    if (seen) return { entry: seen, duplicate: true };
    const entry = rememberCall(callId);
    queue.push({ ...call, kind: 'call', callId, seq: ++state.seq });
    return { entry, duplicate: false };
  };

  setHandler(triggerSignal, (fired) => {
    queue.push({ kind: 'trigger', seq: ++state.seq, ...fired });
  });
  setHandler(callSignal, (call) => {
    enqueueCall({ kind: 'call', ...call });
  });
  setHandler(
    callAndWaitUpdate,
    async (call) => {
      const { entry, duplicate } = enqueueCall({ kind: 'call', ...call });
      await condition(() => entry.outcome !== null);
      return { ...entry.outcome!, duplicate };
    },
    {
      validator: (call) => {
        if (typeof call?.name !== 'string' || call.name.length === 0)
          throw ApplicationFailure.nonRetryable(
            'call.name: expected the name of a Call-Receive strategy',
            'InvalidCall',
          );
        if (stopRequested)
          throw ApplicationFailure.nonRetryable(`agent ${info.workflowId} is stopping`, 'AgentStopping');
      },
    },
  );

  const strategyValidator = (strategy: Strategy) => {
    const issues = strategyIssues(strategy);
    if (issues.length > 0)
      throw ApplicationFailure.nonRetryable(`invalid strategy: ${issues.join('; ')}`, 'InvalidAgentSpec');
  };
  const names = () => state.spec.strategies.map((s) => s.name);
  setHandler(
    addStrategyUpdate,
    async (strategy) => {
      if (state.spec.strategies.some((s) => s.name === strategy.name))
        throw ApplicationFailure.nonRetryable(
          `strategy.name: "${strategy.name}" already exists (use replaceStrategy)`,
          'InvalidAgentSpec',
        );
      state.spec.strategies = [...state.spec.strategies, strategy];
      await ops.syncSchedules();
      return names();
    },
    { validator: strategyValidator },
  );
  setHandler(
    replaceStrategyUpdate,
    async (strategy) => {
      if (!state.spec.strategies.some((s) => s.name === strategy.name))
        throw ApplicationFailure.nonRetryable(
          `strategy.name: no strategy "${strategy.name}" to replace`,
          'UnknownStrategy',
        );
      state.spec.strategies = state.spec.strategies.map((s) => (s.name === strategy.name ? strategy : s));
      await ops.syncSchedules();
      return names();
    },
    { validator: strategyValidator },
  );
  setHandler(removeStrategyUpdate, async (name) => {
    if (!state.spec.strategies.some((s) => s.name === name))
      throw ApplicationFailure.nonRetryable(`no strategy "${name}" to remove`, 'UnknownStrategy');
    state.spec.strategies = state.spec.strategies.filter((s) => s.name !== name);
    await ops.syncSchedules();
    return names();
  });
  setHandler(
    setParametersUpdate,
    (parameters) => {
      state.spec.parameters = { ...state.spec.parameters, ...parameters };
      return state.spec.parameters;
    },
    {
      validator: (parameters) => {
        if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters))
          throw ApplicationFailure.nonRetryable('parameters: expected an object of name → value', 'InvalidAgentSpec');
      },
    },
  );
  setHandler(pauseUpdate, async () => {
    if (state.status === 'running') {
      state.status = 'paused';
      publishState();
      await ops.pauseSchedules(true);
    }
    return state.status;
  });
  setHandler(resumeUpdate, async () => {
    if (state.status === 'paused') {
      state.status = 'running';
      publishState();
      await ops.pauseSchedules(false);
    }
    return state.status;
  });
  setHandler(stopUpdate, async (reason) => {
    stopRequested = true;
    stopReason = reason || 'stop requested';
    await condition(() => state.status === 'stopped');
    return state.scheduleIds;
  });
  setHandler(stateQuery, () => ({
    workflowId: info.workflowId,
    app: state.spec.app,
    agent: state.spec.name,
    template: state.spec.template,
    status: state.status,
    beliefs: state.beliefs,
    parameters: state.spec.parameters,
    pending: queue.length,
    processed: state.processed,
    generations: state.generations,
    scheduleIds: state.scheduleIds,
  }));
  setHandler(strategiesQuery, () => state.spec.strategies);
  setHandler(decisionsQuery, (last) => (last ? state.decisions.slice(-last) : state.decisions));

  const record = (decision: Decision) => {
    state.decisions.push(decision);
    const limit = state.spec.decisionLogSize ?? DEFAULT_DECISION_LOG;
    if (state.decisions.length > limit) state.decisions.splice(0, state.decisions.length - limit);
  };

  /** Runs every strategy the event selects, records the decisions and answers a waiting caller. */
  const handleEvent = async (event: AgentEvent) => {
    const selected = state.spec.strategies.filter((s) =>
      event.kind === 'trigger'
        ? s.name === event.strategy && !isCallReceive(s.when)
        : isCallReceive(s.when) && s.when.call === event.name,
    );
    const runs: CallOutcome['runs'] = [];
    if (selected.length === 0) {
      const decision: Decision = {
        seq: event.seq,
        at: new Date().toISOString(),
        event,
        strategy: null,
        observed: {},
        constraint: null,
        actions: [],
        outcome: 'no-strategy',
      };
      record(decision);
      runs.push({ strategy: null, outcome: 'no-strategy', results: {} });
    }
    for (const strategy of selected) {
      const { decision, results } = await runStrategy(strategy, event, state, info.workflowId);
      record(decision);
      runs.push({ strategy: strategy.name, outcome: decision.outcome, results });
    }
    state.processed += 1;
    if (event.kind === 'call') {
      const entry = outcomes.get(event.callId);
      const ok =
        runs.length > 0 &&
        runs.every((r) => r.outcome === 'acted' || r.outcome === 'constraint-false') &&
        runs.some((r) => r.strategy !== null);
      if (entry) entry.outcome = { callId: event.callId, duplicate: false, ok, runs };
    }
  };

  if (!state.schedulesSynced) await ops.syncSchedules();

  const ready = () => state.status === 'running' && queue.length > 0;
  for (;;) {
    await condition(() => stopRequested || ready() || workflowInfo().continueAsNewSuggested);
    if (stopRequested) break;
    if (workflowInfo().continueAsNewSuggested && allHandlersFinished()) {
      await continueAsNew<typeof agentWorkflow>(state.spec, { state, pending: queue });
    }
    if (ready()) {
      await handleEvent(queue.shift()!);
      continue;
    }
    // Continue-as-new is due but a handler is still running (an update waiting for its event, a schedule sync).
    await condition(() => allHandlersFinished() || stopRequested || ready());
  }

  // Stop: remove the triggers, answer callers still waiting, then finish.
  await ops.deleteSchedules();
  for (const event of queue.splice(0)) {
    record({
      seq: event.seq,
      at: new Date().toISOString(),
      event,
      strategy: null,
      observed: {},
      constraint: null,
      actions: [],
      outcome: 'dropped',
      error: `agent stopped: ${stopReason}`,
    });
    if (event.kind === 'call') {
      const entry = outcomes.get(event.callId);
      if (entry)
        entry.outcome = {
          callId: event.callId,
          duplicate: false,
          ok: false,
          runs: [{ strategy: null, outcome: 'dropped', results: {} }],
        };
    }
  }
  state.status = 'stopped';
  publishState();
  await condition(allHandlersFinished);
  return {
    workflowId: info.workflowId,
    app: state.spec.app,
    agent: state.spec.name,
    template: state.spec.template,
    status: state.status,
    beliefs: state.beliefs,
    parameters: state.spec.parameters,
    pending: 0,
    processed: state.processed,
    generations: state.generations,
    scheduleIds: state.scheduleIds,
  } satisfies AgentStateView;
}

export type { Json };
