/**
 * One strategy run: sensors → constraint → actions (paper: s = F(o), a = R(s)). Every sensor and
 * action is an activity or a child workflow, so after a crash Temporal replays the completed ones
 * from history instead of running them again. A failing step ends the run with outcome 'failed'
 * (recorded in the decision log); the agent itself keeps going.
 */
import {
  ApplicationFailure,
  executeChild,
  getExternalWorkflowHandle,
  proxyActivities,
  type ActivityOptions as TemporalActivityOptions,
} from '@temporalio/workflow';
import type { Action, ActivityOptions, AgentSpec, Json, Strategy } from '../agents/spec.js';
import { agentWorkflowId, TaskQueues } from '../agents/conventions.js';
import { evaluateConstraint, resolveRefs, type RunContext } from '../agents/refs.js';
import type { createAgentRuntimeActivities } from '../activities/agents/runtime.js';
import { callSignal, type ActionRecord, type AgentEvent, type AgentState, type Decision } from '../agents/messages.js';
import { beliefProblem, changedParameters } from '../agents/state.js';

type NamedActivity = (args?: Json) => Promise<Json>;

/**
 * Heartbeat timeout of the activities on the agent's own task queue: its worker heartbeats for
 * every one of them (createAgentActivities wraps them in keepBeating), so after a worker dies the
 * interrupted activity is retried about this long after its last beat, not after its start-to-close.
 */
export const DEFAULT_HEARTBEAT_TIMEOUT = '10 seconds';

const runtime = proxyActivities<ReturnType<typeof createAgentRuntimeActivities>>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: DEFAULT_HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/** Scanflow's own task queues: their workers heartbeat for every activity (workers/roles.ts). */
const scanflowQueues: readonly string[] = Object.values(TaskQueues);

/**
 * A sensor's or action's activity. On Scanflow's task queues (the agent's own, or scanflow-ml,
 * scanflow-kubernetes, …) it gets the default heartbeat timeout, since those workers heartbeat for
 * every activity; on a user's own queue only the spec's `heartbeat` (that worker may not beat).
 */
export function activityOptions(options: ActivityOptions): TemporalActivityOptions {
  const opts: TemporalActivityOptions = {
    startToCloseTimeout: options.timeout ?? '1 minute',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      maximumAttempts: options.attempts ?? 5,
    },
  };
  const ours = options.taskQueue === undefined || scanflowQueues.includes(options.taskQueue);
  const heartbeat = options.heartbeat ?? (ours ? DEFAULT_HEARTBEAT_TIMEOUT : undefined);
  if (heartbeat) opts.heartbeatTimeout = heartbeat;
  if (options.taskQueue) opts.taskQueue = options.taskQueue;
  return opts;
}

function activityProxy(options: ActivityOptions, name: string): NamedActivity {
  const opts = activityOptions(options);
  const proxies = proxyActivities<Record<string, NamedActivity>>(opts);
  return proxies[name] as NamedActivity;
}

function errorText(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  return e.cause?.message ? `${e.message ?? 'failed'}: ${e.cause.message}` : (e.message ?? String(err));
}

function actionLabel(action: Action): string {
  if ('activity' in action) return `activity ${action.activity}`;
  if ('call' in action)
    return `call ${action.call.app ? `${action.call.app}.` : ''}${action.call.agent}.${action.call.name}${action.call.wait ? ' (wait)' : ''}`;
  if ('child' in action) return `child ${action.child.workflowType}`;
  return `tune ${action.tune.agent ?? 'self'}`;
}

function eventView(event: AgentEvent): Record<string, Json> {
  return JSON.parse(JSON.stringify(event)) as Record<string, Json>;
}

async function runAction(
  action: Action,
  ctx: RunContext,
  spec: AgentSpec,
  state: AgentState,
  selfId: string,
  strategy: string,
  event: AgentEvent,
  index: number,
): Promise<Json> {
  // Stable per (agent, event, action): a retried or replayed call is de-duplicated by the callee.
  const callId = `${selfId}/${event.seq}/${strategy}/${index}`;
  if ('activity' in action) {
    const args = action.args === undefined ? undefined : resolveRefs(action.args, ctx);
    const fn = activityProxy(action, action.activity);
    return (await (args === undefined ? fn() : fn(args))) ?? null;
  }
  if ('call' in action) {
    const target = agentWorkflowId(action.call.app ?? spec.app, action.call.agent);
    const call = { name: action.call.name, args: resolveRefs(action.call.args ?? null, ctx), caller: selfId, callId };
    if (!action.call.wait) {
      await getExternalWorkflowHandle(target).signal(callSignal, call);
      return { sent: callId };
    }
    return (await runtime.callAgentAndWait({ workflowId: target, call })) as unknown as Json;
  }
  if ('child' in action) {
    const args = action.child.args === undefined ? [] : [resolveRefs(action.child.args, ctx)];
    return (
      ((await executeChild(action.child.workflowType, {
        args,
        workflowId: action.child.workflowId ?? `${selfId}.${strategy}.${event.seq}.${index}`,
        ...(action.child.taskQueue ? { taskQueue: action.child.taskQueue } : {}),
        ...(action.child.timeout ? { workflowExecutionTimeout: action.child.timeout } : {}),
      })) as Json) ?? null
    );
  }
  const parameters = resolveRefs(action.tune.parameters, ctx) as Record<string, Json>;
  const target = agentWorkflowId(action.tune.app ?? spec.app, action.tune.agent ?? spec.name);
  if (target === selfId) {
    // The same rules as the setParameters update: a value the spec validator would refuse at the
    // next continue-as-new fails this action (non-retryable, nothing applied) instead of the agent.
    state.spec.parameters = changedParameters(state.spec, parameters);
    return state.spec.parameters;
  }
  return await runtime.tuneAgent({ workflowId: target, parameters });
}

export async function runStrategy(
  strategy: Strategy,
  event: AgentEvent,
  state: AgentState,
  selfId: string,
): Promise<{ decision: Decision; results: Record<string, Json> }> {
  const results: Record<string, Json> = {};
  const observed: Record<string, Json> = {};
  const ctx: RunContext = { beliefs: state.beliefs, params: state.spec.parameters, event: eventView(event), results };
  const decision: Decision = {
    seq: event.seq,
    at: new Date().toISOString(),
    event,
    strategy: strategy.name,
    observed,
    constraint: null,
    actions: [],
    outcome: 'acted',
  };
  try {
    for (const sensor of strategy.sense ?? []) {
      const fn = activityProxy(sensor, sensor.activity);
      const args = sensor.args === undefined ? undefined : resolveRefs(sensor.args, ctx);
      const value = (await (args === undefined ? fn() : fn(args))) ?? null;
      observed[sensor.as] = value;
      results[sensor.as] = value;
      const problem = beliefProblem(state.beliefs, sensor.as, value);
      if (problem) throw ApplicationFailure.nonRetryable(problem, 'BeliefTooLarge');
      state.beliefs[sensor.as] = value;
    }
  } catch (err) {
    return { decision: { ...decision, outcome: 'failed', error: `sensor failed: ${errorText(err)}` }, results };
  }
  decision.constraint = strategy.if ? evaluateConstraint(strategy.if, ctx) : true;
  if (!decision.constraint) return { decision: { ...decision, outcome: 'constraint-false' }, results };
  for (const [index, action] of strategy.then.entries()) {
    const record: ActionRecord = { action: actionLabel(action), ok: true };
    decision.actions.push(record);
    try {
      const result = await runAction(action, ctx, state.spec, state, selfId, strategy.name, event, index);
      record.result = result;
      const as = 'as' in action ? action.as : undefined;
      if (as) {
        results[as] = result;
        if ('remember' in action && action.remember) {
          // The action ran: it stays ok, but a result too large to carry is not kept as a belief.
          const problem = beliefProblem(state.beliefs, as, result);
          if (problem) record.error = `not remembered: ${problem}`;
          else state.beliefs[as] = result;
        }
      }
    } catch (err) {
      record.ok = false;
      record.error = errorText(err);
      return {
        decision: { ...decision, outcome: 'failed', error: `${record.action} failed: ${record.error}` },
        results,
      };
    }
  }
  return { decision, results };
}
