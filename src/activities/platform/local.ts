/**
 * The local platform's primitives as the same Temporal activities the Kubernetes adapter gets
 * (createPlatformActivities), so agents call `upgradeOnlineWorkflow`, `updateWorkflowTraffic`,
 * `readyReplicas`, … by the same names whatever the platform. Batch primitives are not offered on
 * one machine (training and detection run as Temporal workflows of ML activities there): they
 * fail non-retryably with a message that says so.
 */
import { ApplicationFailure } from '@temporalio/common';
import { createBatchPlatformActivities, createOnlinePlatformActivities, type PlatformActivities } from './index.js';
import type { BatchPlatform } from '../../platform/types.js';
import type { LocalPlatform } from '../../platform/local/local-platform.js';

function unsupported(primitive: string): never {
  throw ApplicationFailure.nonRetryable(
    `${primitive} is a batch-workflow primitive, which the local platform does not offer: run batch steps as Temporal activities on one machine, or use the kubernetes platform`,
    'NotSupported',
  );
}

/**
 * A batch platform that refuses every primitive by its name. A proxy rather than a list of the
 * names, so a batch primitive added to the activities is refused here too, never missing.
 */
const refusingBatch = new Proxy({} as BatchPlatform, {
  get: (_target, name) => async () => unsupported(String(name)),
});

/** Register these on the worker of the platform task queue when running on one machine. */
export function createLocalPlatformActivities(local: LocalPlatform): PlatformActivities {
  return { ...createOnlinePlatformActivities(local), ...createBatchPlatformActivities(refusingBatch) };
}
