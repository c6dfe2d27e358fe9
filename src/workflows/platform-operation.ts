/**
 * One Table IV primitive as a workflow, so an operator (or a script) can run it with a
 * recorded history: `temporal workflow start --type platformOperationWorkflow --task-queue
 * scanflow-agents --input '{"primitive":"duplicateWorkflowInstance","args":{…}}'`.
 * The primitive runs as an activity on the platform task queue (scanflow-kubernetes).
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { PlatformActivities } from '../activities/platform/types.js';
import { TaskQueues } from '../agents/conventions.js';

/** Every primitive the platform activities offer (Table IV plus the observation sensors). */
export const PLATFORM_PRIMITIVES = [
  'deployWorkflow',
  'deleteWorkflow',
  'upgradeOnlineWorkflow',
  'updateOnlineWorkflowAffinity',
  'updateOnlineWorkflowResource',
  'updateWorkflowReplica',
  'updateWorkflowTraffic',
  'applyWorkflowInstance',
  'deleteWorkflowInstance',
  'duplicateWorkflowInstance',
  'applyBatchWorkflow',
  'runWorkflow',
  'stopWorkflow',
  'upgradeBatchWorkflow',
  'updateBatchWorkflowAffinity',
  'updateBatchWorkflowResource',
  'runExecutor',
  'stopExecutor',
  'upgradeExecutor',
  'updateExecutorAffinity',
  'updateExecutorResource',
  'readyReplicas',
  'podPlacement',
  'jobStatus',
] as const satisfies ReadonlyArray<keyof PlatformActivities>;

export interface PlatformOperationInput {
  primitive: keyof PlatformActivities;
  args: unknown;
}

const platform = proxyActivities<Record<string, (args: unknown) => Promise<unknown>>>({
  taskQueue: TaskQueues.kubernetes,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

export async function platformOperationWorkflow(input: PlatformOperationInput): Promise<unknown> {
  if (!input || !(PLATFORM_PRIMITIVES as readonly string[]).includes(input.primitive)) {
    throw ApplicationFailure.nonRetryable(
      `input.primitive must be one of ${PLATFORM_PRIMITIVES.join(', ')}; got ${JSON.stringify(input?.primitive)}`,
      'InvalidInput',
    );
  }
  const run = platform[input.primitive] as (args: unknown) => Promise<unknown>;
  return (await run(input.args)) ?? null;
}
