/** A workflow around one long activity with a heartbeat timeout (test/temporal/heartbeat-details.test.ts). */
import { proxyActivities } from '@temporalio/workflow';

interface CheckpointActivities {
  checkpointThenWork(input: { checkpoint: string; workMs: number }): Promise<unknown>;
}

const { checkpointThenWork } = proxyActivities<CheckpointActivities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '3 seconds',
  retry: { maximumAttempts: 1 },
});

export async function checkpointWorkflow(input: { checkpoint: string; workMs: number }): Promise<unknown> {
  return await checkpointThenWork(input);
}
