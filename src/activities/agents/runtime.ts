/**
 * The agent runtime's own activities: trigger schedules (create-or-update, pause, delete) and
 * calls that need a Temporal client (updates to other agents). Idempotent, so retries are safe.
 */
import { log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import {
  type Client,
  type ScheduleOptions,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { Json } from '../../agents/spec.js';
import { triggerScheduleId, triggerWorkflowIdPrefix } from '../../agents/conventions.js';
import { ScanflowAgent, ScanflowApp, ScanflowKind } from '../../agents/conventions.js';
import { planTrigger } from '../../agents/trigger-schedule.js';
import type { CallOutcome } from '../../agents/messages.js';
import type { PauseSchedulesInput, RemoteCallInput, RemoteTuneInput, SyncSchedulesInput } from './types.js';

/** The schedule that fires one strategy: its action starts `agentTriggerWorkflow`, which signals the agent. */
export function triggerScheduleOptions(
  input: SyncSchedulesInput,
  strategy: string,
  trigger: SyncSchedulesInput['triggers'][number]['trigger'],
): ScheduleOptions {
  const plan = planTrigger(trigger);
  return {
    scheduleId: triggerScheduleId(input.app, input.agent, strategy),
    spec: {
      intervals: plan.intervals.map((i) => ({ every: i.everyMs, offset: i.offsetMs })),
      cronExpressions: plan.cronExpressions,
      ...(plan.startAt ? { startAt: new Date(plan.startAt) } : {}),
    },
    action: {
      type: 'startWorkflow',
      workflowType: 'agentTriggerWorkflow',
      workflowId: triggerWorkflowIdPrefix(input.app, input.agent, strategy),
      taskQueue: input.taskQueue,
      args: [{ agentWorkflowId: input.agentWorkflowId, strategy, ...(plan.and ? { and: plan.and } : {}) }],
      typedSearchAttributes: [
        { key: ScanflowKind, value: 'trigger' },
        { key: ScanflowApp, value: input.app },
        { key: ScanflowAgent, value: input.agent },
      ],
    },
    // Trigger workflows take milliseconds; never skip a fire because the previous one is still finishing.
    policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL, catchupWindow: '1 minute' },
    state: { paused: input.paused, note: `trigger of strategy ${strategy} of agent ${input.agentWorkflowId}` },
    memo: { agent: input.agentWorkflowId, strategy, trigger: trigger as unknown as Json },
  };
}

/** gRPC status INVALID_ARGUMENT: the server refused the request itself, so a retry cannot help. */
const INVALID_ARGUMENT = 3;

/**
 * A schedule operation's error as a Temporal failure: the server refusing the spec (the client
 * throws a TypeError for "Invalid schedule spec", a ServiceError with INVALID_ARGUMENT for other
 * refusals) is non-retryable; anything else (the server unreachable) stays retryable.
 */
export function scheduleFailure(err: unknown, scheduleId: string): unknown {
  const code = (err as { cause?: { code?: unknown } })?.cause?.code;
  if (err instanceof TypeError || (err instanceof ServiceError && code === INVALID_ARGUMENT))
    return ApplicationFailure.nonRetryable(
      `schedule ${scheduleId} refused by the server: ${(err as Error).message}`,
      'InvalidSchedule',
    );
  return err;
}

/**
 * An update another agent refused or failed (bad parameters, unknown call, stopping): its message,
 * non-retryable (asking again gets the same answer), except a full queue, which may drain.
 */
function updateFailure(err: unknown, workflowId: string): unknown {
  if (err instanceof WorkflowNotFoundError)
    return ApplicationFailure.nonRetryable(`agent ${workflowId} is not running`, 'AgentNotFound');
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause as (Error & { type?: string }) | undefined;
    const message = `agent ${workflowId}: ${cause?.message ?? err.message}`;
    return cause?.type === 'AgentQueueFull'
      ? ApplicationFailure.retryable(message, cause.type)
      : ApplicationFailure.nonRetryable(message, cause?.type ?? 'AgentUpdateFailed');
  }
  return err;
}

export function createAgentRuntimeActivities(client: Client) {
  const deleteQuietly = async (scheduleId: string) => {
    try {
      await client.schedule.getHandle(scheduleId).delete();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  };
  return {
    /** A built-in action that writes a line to the worker log and returns it (demos, reports, placeholders). */
    async scanflowLog(args: Json): Promise<Json> {
      log.info('agent report', { report: args });
      return args;
    },
    /** Create-or-update one schedule per time-triggered strategy; delete the agent's schedules no longer wanted. */
    async syncAgentSchedules(input: SyncSchedulesInput): Promise<string[]> {
      const ids: string[] = [];
      for (const { strategy, trigger } of input.triggers) {
        const options = triggerScheduleOptions(input, strategy, trigger);
        const handle = client.schedule.getHandle(options.scheduleId);
        try {
          try {
            await handle.describe();
            await handle.update((previous) => ({
              ...previous,
              spec: options.spec,
              action: options.action,
              policies: { ...previous.policies, ...options.policies },
              state: { ...previous.state, paused: input.paused },
            }));
          } catch (err) {
            if (!(err instanceof ScheduleNotFoundError)) throw err;
            await client.schedule.create(options);
          }
        } catch (err) {
          throw scheduleFailure(err, options.scheduleId);
        }
        ids.push(options.scheduleId);
      }
      for (const old of input.previous) if (!ids.includes(old)) await deleteQuietly(old);
      return ids;
    },
    async pauseAgentSchedules(input: PauseSchedulesInput): Promise<void> {
      for (const id of input.scheduleIds) {
        const handle = client.schedule.getHandle(id);
        try {
          if (input.paused) await handle.pause(input.note);
          else await handle.unpause(input.note);
        } catch (err) {
          if (!(err instanceof ScheduleNotFoundError)) throw err;
        }
      }
    },
    async deleteAgentSchedules(input: { scheduleIds: string[] }): Promise<string[]> {
      for (const id of input.scheduleIds) await deleteQuietly(id);
      return input.scheduleIds;
    },
    /** Call-Receive with an answer: an update on the target agent (the update id is the call id, so a retry is not a second call). */
    async callAgentAndWait(input: RemoteCallInput): Promise<CallOutcome> {
      try {
        return await client.workflow
          .getHandle(input.workflowId)
          .executeUpdate<CallOutcome, [RemoteCallInput['call']]>('callAndWait', {
            args: [input.call],
            updateId: input.call.callId,
          });
      } catch (err) {
        throw updateFailure(err, input.workflowId);
      }
    },
    /** A planner tuning another agent: sets its parameters through the setParameters update. */
    async tuneAgent(input: RemoteTuneInput): Promise<Json> {
      try {
        return await client.workflow
          .getHandle(input.workflowId)
          .executeUpdate<Record<string, Json>, [Record<string, Json>]>('setParameters', { args: [input.parameters] });
      } catch (err) {
        throw updateFailure(err, input.workflowId);
      }
    },
  };
}
