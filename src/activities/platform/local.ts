/**
 * The local platform's primitives as the same Temporal activities the Kubernetes adapter gets
 * (createPlatformActivities), so agents call `upgradeOnlineWorkflow`, `updateWorkflowTraffic`,
 * `readyReplicas`, … by the same names whatever the platform. Batch primitives are not offered on
 * one machine (training and detection run as Temporal workflows of ML activities there): they
 * fail non-retryably with a message that says so.
 */
import { ApplicationFailure } from '@temporalio/common';
import { createPlatformActivities, type PlatformActivities } from './index.js';
import type { BatchPlatform, Platform } from '../../platform/types.js';
import type { LocalPlatform } from '../../platform/local/local-platform.js';

function unsupported(primitive: string): never {
  throw ApplicationFailure.nonRetryable(
    `${primitive} is a batch-workflow primitive, which the local platform does not offer: run batch steps as Temporal activities on one machine, or use the kubernetes platform`,
    'NotSupported',
  );
}

const batchPrimitives: Array<keyof BatchPlatform> = [
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
  'jobStatus',
];

/** The local platform as a full Platform whose batch half refuses every call. */
export function asPlatform(local: LocalPlatform): Platform {
  const batch = Object.fromEntries(
    batchPrimitives.map((name) => [name, async () => unsupported(name)]),
  ) as unknown as BatchPlatform;
  return {
    ...batch,
    deployWorkflow: (spec) => local.deployWorkflow(spec),
    deleteWorkflow: (ref) => local.deleteWorkflow(ref),
    upgradeOnlineWorkflow: (ref, service, change) => local.upgradeOnlineWorkflow(ref, service, change),
    updateOnlineWorkflowAffinity: (ref, service, affinity) =>
      local.updateOnlineWorkflowAffinity(ref, service, affinity),
    updateOnlineWorkflowResource: (ref, service, resources) =>
      local.updateOnlineWorkflowResource(ref, service, resources),
    updateWorkflowReplica: (ref, service, change) => local.updateWorkflowReplica(ref, service, change),
    updateWorkflowTraffic: (ref, traffic) => local.updateWorkflowTraffic(ref, traffic),
    applyWorkflowInstance: (ref, service) => local.applyWorkflowInstance(ref, service),
    deleteWorkflowInstance: (ref, service) => local.deleteWorkflowInstance(ref, service),
    duplicateWorkflowInstance: (ref, service, replicas) => local.duplicateWorkflowInstance(ref, service, replicas),
    readyReplicas: (ref) => local.readyReplicas(ref),
    podPlacement: (ref) => local.podPlacement(ref),
  };
}

/** Register these on the worker of the platform task queue when running on one machine. */
export function createLocalPlatformActivities(local: LocalPlatform): PlatformActivities {
  return createPlatformActivities(asPlatform(local));
}
