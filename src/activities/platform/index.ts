/**
 * The Table IV primitives as Temporal activities. `createPlatformActivities` wraps any adapter
 * (kubernetes here; the local adapter can reuse it for its online half), so agents call the
 * same activity names whatever the platform. Every activity takes one JSON object, so it can
 * also be started from the CLI.
 *
 * Errors: adapters throw ApplicationFailure (non-retryable for invalid/conflict/missing/
 * forbidden, retryable for throttling, 5xx and connection failures); a failed batch run is a
 * result (phase 'Failed' with the step's reason), not an exception, so the agent decides.
 */
import { Context } from '@temporalio/activity';
import type {
  AffinitySpec,
  AutoscalingUpdate,
  BatchPlatform,
  BatchRunStatus,
  BatchWorkflowSpec,
  ContainerUpgrade,
  OnlinePlatform,
  OnlineWorkflowSpec,
  Platform,
  PodPlacement,
  ReplicaStatus,
  ResourceSpec,
  ServiceSpec,
  StepStatus,
  TrafficSpec,
  WorkflowRef,
} from '../../platform/types.js';
import { KubernetesPlatform, type KubernetesPlatformOptions } from '../../platform/kubernetes/adapter.js';
import { beat } from '../support.js';

export interface ServiceTarget {
  ref: WorkflowRef;
  service: string;
}
export interface ExecutorTarget {
  ref: WorkflowRef;
  executor: string;
}

/** Heartbeat at least this often while following a run (set heartbeatTimeout above it). */
const HEARTBEAT_MS = 5_000;

/** Follow a long call with heartbeats carrying the latest status; activity cancellation aborts following. */
async function following<T>(
  run: (onProgress: (s: BatchRunStatus) => void, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ctx = Context.current();
  let latest: BatchRunStatus | undefined;
  const timer = setInterval(() => beat(latest), HEARTBEAT_MS);
  try {
    return await run((s) => {
      latest = s;
      beat(s);
    }, ctx.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}

/** The online half: what a platform without batch support (the local adapter) can offer. */
export function createOnlinePlatformActivities(platform: OnlinePlatform) {
  return {
    // ---- online workflow (application layer)
    async deployWorkflow(spec: OnlineWorkflowSpec): Promise<void> {
      await platform.deployWorkflow(spec);
    },
    async deleteWorkflow(ref: WorkflowRef): Promise<void> {
      await platform.deleteWorkflow(ref);
    },
    async upgradeOnlineWorkflow(a: ServiceTarget & { change: ContainerUpgrade }): Promise<void> {
      await platform.upgradeOnlineWorkflow(a.ref, a.service, a.change);
    },
    async updateOnlineWorkflowAffinity(a: ServiceTarget & { affinity: AffinitySpec }): Promise<void> {
      await platform.updateOnlineWorkflowAffinity(a.ref, a.service, a.affinity);
    },
    async updateOnlineWorkflowResource(a: ServiceTarget & { resources: ResourceSpec }): Promise<void> {
      await platform.updateOnlineWorkflowResource(a.ref, a.service, a.resources);
    },
    async updateWorkflowReplica(a: ServiceTarget & { change: AutoscalingUpdate }): Promise<void> {
      await platform.updateWorkflowReplica(a.ref, a.service, a.change);
    },
    async updateWorkflowTraffic(a: { ref: WorkflowRef; traffic: TrafficSpec }): Promise<void> {
      await platform.updateWorkflowTraffic(a.ref, a.traffic);
    },
    // ---- online workflow (infrastructure layer)
    async applyWorkflowInstance(a: { ref: WorkflowRef; service: ServiceSpec }): Promise<void> {
      await platform.applyWorkflowInstance(a.ref, a.service);
    },
    async deleteWorkflowInstance(a: ServiceTarget): Promise<void> {
      await platform.deleteWorkflowInstance(a.ref, a.service);
    },
    async duplicateWorkflowInstance(a: ServiceTarget & { replicas: number }): Promise<void> {
      await platform.duplicateWorkflowInstance(a.ref, a.service, a.replicas);
    },
    // ---- observation (sensors)
    async readyReplicas(ref: WorkflowRef): Promise<ReplicaStatus[]> {
      return platform.readyReplicas(ref);
    },
    async podPlacement(ref: WorkflowRef): Promise<PodPlacement[]> {
      return platform.podPlacement(ref);
    },
  };
}

export function createBatchPlatformActivities(platform: BatchPlatform) {
  return {
    // ---- batch workflow (application layer)
    async applyBatchWorkflow(spec: BatchWorkflowSpec): Promise<void> {
      await platform.applyBatchWorkflow(spec);
    },
    async runWorkflow(a: { ref: WorkflowRef; runId: string }): Promise<BatchRunStatus> {
      return following((onProgress, signal) => platform.runWorkflow(a.ref, a.runId, { onProgress, signal }));
    },
    async stopWorkflow(a: { ref: WorkflowRef; runId?: string }): Promise<void> {
      await platform.stopWorkflow(a.ref, a.runId);
    },
    async upgradeBatchWorkflow(a: { ref: WorkflowRef; change: ContainerUpgrade }): Promise<void> {
      await platform.upgradeBatchWorkflow(a.ref, a.change);
    },
    async updateBatchWorkflowAffinity(a: { ref: WorkflowRef; affinity: AffinitySpec }): Promise<void> {
      await platform.updateBatchWorkflowAffinity(a.ref, a.affinity);
    },
    async updateBatchWorkflowResource(a: { ref: WorkflowRef; resources: ResourceSpec }): Promise<void> {
      await platform.updateBatchWorkflowResource(a.ref, a.resources);
    },
    // ---- batch workflow (infrastructure layer)
    async runExecutor(a: ExecutorTarget & { runId: string }): Promise<StepStatus> {
      return following((onProgress, signal) =>
        platform.runExecutor(a.ref, a.executor, a.runId, { onProgress, signal }),
      );
    },
    async stopExecutor(a: ExecutorTarget & { runId?: string }): Promise<void> {
      await platform.stopExecutor(a.ref, a.executor, a.runId);
    },
    async upgradeExecutor(a: ExecutorTarget & { change: ContainerUpgrade }): Promise<void> {
      await platform.upgradeExecutor(a.ref, a.executor, a.change);
    },
    async updateExecutorAffinity(a: ExecutorTarget & { affinity: AffinitySpec }): Promise<void> {
      await platform.updateExecutorAffinity(a.ref, a.executor, a.affinity);
    },
    async updateExecutorResource(a: ExecutorTarget & { resources: ResourceSpec }): Promise<void> {
      await platform.updateExecutorResource(a.ref, a.executor, a.resources);
    },
    // ---- observation (sensors)
    async jobStatus(a: { ref: WorkflowRef; runId: string }): Promise<BatchRunStatus> {
      return platform.jobStatus(a.ref, a.runId);
    },
  };
}

/** Every primitive of Table IV plus the sensors, under their Table IV names. */
export function createPlatformActivities(platform: Platform) {
  return { ...createOnlinePlatformActivities(platform), ...createBatchPlatformActivities(platform) };
}

export type OnlinePlatformActivities = ReturnType<typeof createOnlinePlatformActivities>;
export type BatchPlatformActivities = ReturnType<typeof createBatchPlatformActivities>;
export type PlatformActivities = ReturnType<typeof createPlatformActivities>;

/** The activities on a Kubernetes cluster (kubeconfig file, or in-cluster / ~/.kube/config). */
export function createKubernetesActivities(opts: KubernetesPlatformOptions): PlatformActivities {
  return createPlatformActivities(new KubernetesPlatform(opts));
}
