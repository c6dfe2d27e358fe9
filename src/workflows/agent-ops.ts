/**
 * The agent's housekeeping activities: keeping its trigger schedules in step with its strategies.
 * Calls are serialised so two strategy updates never race on the same schedules.
 */
import { condition, proxyActivities } from '@temporalio/workflow';
import type { AgentState } from '../agents/messages.js';
import type { createAgentRuntimeActivities } from '../activities/agents/runtime.js';
import type { Trigger } from '../agents/spec.js';
import { isCallReceive } from '../agents/spec.js';

// Heartbeated by the agent worker (keepBeating): a worker that dies mid-sync is noticed in seconds.
// A schedule the server refuses fails at once (InvalidSchedule is non-retryable).
const runtime = proxyActivities<ReturnType<typeof createAgentRuntimeActivities>>({
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: ['InvalidSchedule'],
  },
});

export function agentOps(state: AgentState, workflowId: string, taskQueue: string) {
  let busy = false;
  const exclusive = async <T>(fn: () => Promise<T>): Promise<T> => {
    await condition(() => !busy);
    busy = true;
    try {
      return await fn();
    } finally {
      busy = false;
    }
  };
  return {
    syncSchedules: () =>
      exclusive(async () => {
        const triggers = state.spec.strategies.flatMap((s) =>
          isCallReceive(s.when) ? [] : [{ strategy: s.name, trigger: s.when as Trigger }],
        );
        state.scheduleIds = await runtime.syncAgentSchedules({
          app: state.spec.app,
          agent: state.spec.name,
          agentWorkflowId: workflowId,
          taskQueue,
          triggers,
          previous: state.scheduleIds,
          paused: state.status === 'paused',
        });
        state.schedulesSynced = true;
      }),
    pauseSchedules: (paused: boolean) =>
      exclusive(() =>
        runtime.pauseAgentSchedules({
          scheduleIds: state.scheduleIds,
          paused,
          note: `agent ${workflowId} ${paused ? 'paused' : 'resumed'}`,
        }),
      ),
    deleteSchedules: () =>
      exclusive(async () => {
        await runtime.deleteAgentSchedules({ scheduleIds: state.scheduleIds });
      }),
  };
}
