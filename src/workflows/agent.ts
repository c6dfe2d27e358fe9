/**
 * The agent workflow: one long-lived execution per agent (id `scanflow.<app>.<agent>`, task queue
 * `scanflow-agents` by default). Message handlers queue events (schedule fires and Call-Receive
 * calls) and change the agent through the small state class in agents/state.ts; the main loop
 * processes the queue one event at a time, in arrival order. A strategy run is sensors
 * (activities) → constraint → actions (agent-run.ts), so a crash in the middle resumes after the
 * last completed step. The state and the queued events are carried across continue-as-new.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { AgentSpec, Strategy } from '../agents/spec.js';
import { validateAgentSpec, SpecError } from '../agents/validate.js';
import { Agent, type Run } from '../agents/state.js';
import {
  type AgentCall,
  type AgentCarry,
  type AgentEvent,
  type AgentStateView,
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

/**
 * The spec, validated. A new agent with a bad spec fails at once (non-retryable), before any
 * schedule exists. A continued agent whose spec a stricter version of the rules refuses keeps
 * running with it (every run-time change is validated, so only an upgrade of the rules gets
 * here): failing it would stop an agent whose schedules keep firing.
 */
function validSpec(raw: AgentSpec, carried: boolean): AgentSpec {
  try {
    return validateAgentSpec(raw);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    if (carried) {
      log.warn('agent spec refused by the current rules; continuing with it', { issues: err.issues });
      return raw;
    }
    throw ApplicationFailure.nonRetryable(err.message, 'InvalidAgentSpec');
  }
}

/** Starts (or continues) an agent. The input is the agent spec as JSON, so `temporal workflow start --input-file agent.json` works. */
export async function agentWorkflow(rawSpec: AgentSpec, carried?: AgentCarry): Promise<AgentStateView> {
  const info = workflowInfo();
  const agent = new Agent(validSpec(rawSpec, carried !== undefined), info.workflowId, carried);
  const ops = agentOps(agent.state, info.workflowId, info.taskQueue);
  const publish = () => upsertSearchAttributes(agent.searchAttributes());
  const withId = (call: AgentCall) => ({ ...call, callId: call.callId ?? uuid4() });
  publish();

  setHandler(triggerSignal, (fired) => void agent.acceptTrigger(fired));
  // A signal cannot be rejected: a malformed call or one the full queue cannot take is refused (counted, logged).
  setHandler(callSignal, (call) => void agent.acceptCall(withId(call)));
  setHandler(
    callAndWaitUpdate,
    async (call) => {
      const { entry, duplicate, refused } = agent.acceptCall(withId(call), true);
      if (refused) throw ApplicationFailure.nonRetryable(refused, 'AgentQueueFull');
      await condition(() => entry.outcome !== null);
      return { ...agent.takeOutcome(entry, duplicate), duplicate };
    },
    { validator: (call) => agent.checkCall(call) },
  );
  /**
   * A strategy change, then the schedules follow; answers the strategy names. Validated before
   * anything changes; should the schedules still refuse it, the change is rolled back (and the
   * schedules synced back) and the update fails for good: never a strategy without its schedule.
   */
  const changeStrategies = async (change: () => void) => {
    const before = agent.state.spec.strategies;
    change();
    try {
      await ops.syncSchedules();
    } catch (err) {
      agent.restoreStrategies(before);
      try {
        await ops.syncSchedules();
      } catch {
        // The previous schedules stay as they were; the next change or start syncs again.
      }
      throw ApplicationFailure.nonRetryable(
        `the trigger schedules refused the change, which was rolled back: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`,
        'InvalidAgentSpec',
      );
    }
    return agent.strategyNames();
  };
  setHandler(addStrategyUpdate, (s) => changeStrategies(() => agent.addStrategy(s)), {
    validator: (s: Strategy) => agent.checkStrategy(s, 'add'),
  });
  setHandler(replaceStrategyUpdate, (s) => changeStrategies(() => agent.replaceStrategy(s)), {
    validator: (s: Strategy) => agent.checkStrategy(s, 'replace'),
  });
  setHandler(removeStrategyUpdate, (name) => changeStrategies(() => agent.removeStrategy(name)), {
    validator: (name) => agent.checkRemove(name),
  });
  setHandler(setParametersUpdate, (p) => agent.setParameters(p), { validator: (p) => agent.checkParameters(p) });
  setHandler(pauseUpdate, async () => {
    if (agent.pause()) {
      publish();
      await ops.pauseSchedules(true);
    }
    return agent.state.status;
  });
  setHandler(resumeUpdate, async () => {
    if (agent.resume()) {
      publish();
      await ops.pauseSchedules(false);
    }
    return agent.state.status;
  });
  setHandler(stopUpdate, async (reason) => {
    agent.requestStop(reason);
    await condition(() => agent.state.status === 'stopped');
    return agent.state.scheduleIds;
  });
  setHandler(stateQuery, () => agent.view());
  setHandler(strategiesQuery, () => agent.state.spec.strategies);
  setHandler(decisionsQuery, (last) => agent.decisions(last));

  /** Runs every strategy the event selects and records their decisions. */
  const handle = async (event: AgentEvent) => {
    const runs: Run[] = [];
    for (const strategy of agent.strategiesFor(event)) {
      const { decision, results } = await runStrategy(strategy, event, agent.state, info.workflowId);
      agent.record(decision);
      runs.push({ strategy: strategy.name, outcome: decision.outcome, results });
    }
    agent.finish(event, runs);
  };

  if (!agent.state.schedulesSynced) await ops.syncSchedules();
  for (;;) {
    await condition(() => agent.stopping || agent.ready || workflowInfo().continueAsNewSuggested);
    if (agent.stopping) break;
    if (workflowInfo().continueAsNewSuggested && allHandlersFinished())
      await continueAsNew<typeof agentWorkflow>(agent.state.spec, agent.carry());
    if (agent.ready) await handle(agent.next()!);
    // Continue-as-new is due but a handler is still running (an update waiting for its event, a schedule sync).
    else await condition(() => allHandlersFinished() || agent.stopping || agent.ready);
  }

  // Stop: remove the triggers, answer callers still waiting, then finish.
  await ops.deleteSchedules();
  agent.dropQueued();
  agent.markStopped();
  publish();
  await condition(allHandlersFinished);
  return agent.view();
}
