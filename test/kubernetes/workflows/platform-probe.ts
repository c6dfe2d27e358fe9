/**
 * Test-only workflows: an agent-like sequence of platform primitives called as activities,
 * the way the real agents (src/agents, src/workflows) call them.
 */
import { ApplicationFailure, proxyActivities, sleep } from '@temporalio/workflow';
// The import a real workflow would use: activity and spec types from one types.js file.
import type {
  BatchWorkflowSpec,
  OnlineWorkflowSpec,
  PlatformActivities,
} from '../../../src/activities/platform/types.js';

const primitives = proxyActivities<PlatformActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3, initialInterval: '200 ms' },
});
const longRunning = proxyActivities<PlatformActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

/** Deploy, wait until all replicas are ready (a sensor loop), then run a batch DAG. */
export async function platformProbeWorkflow(input: {
  online: OnlineWorkflowSpec;
  batch: BatchWorkflowSpec;
  runId: string;
}) {
  await primitives.deployWorkflow(input.online);
  let ready = 0;
  for (let i = 0; i < 120; i++) {
    const replicas = await primitives.readyReplicas(input.online);
    ready = replicas.reduce((a, r) => a + r.ready, 0);
    if (ready === input.online.services.reduce((a, s) => a + s.replicas, 0)) break;
    await sleep('500 ms');
  }
  await primitives.applyBatchWorkflow(input.batch);
  const run = await longRunning.runWorkflow({ ref: input.batch, runId: input.runId });
  return { ready, run, placement: await primitives.podPlacement(input.online) };
}

/** A primitive that the API server refuses: the failure must reach the workflow without retries. */
export async function platformInvalidWorkflow(input: { online: OnlineWorkflowSpec }) {
  try {
    await primitives.updateOnlineWorkflowResource({
      ref: input.online,
      service: input.online.services[0]!.name,
      resources: { requests: { cpu: '4' }, limits: { cpu: '1' } },
    });
  } catch (err) {
    const cause = (err as { cause?: ApplicationFailure }).cause;
    return { type: cause?.type, nonRetryable: cause?.nonRetryable, message: cause?.message };
  }
  throw ApplicationFailure.nonRetryable('the invalid update was accepted', 'UnexpectedSuccess');
}
