/**
 * The `kubernetes` platform: every Table IV primitive on a real cluster through server-side
 * apply, as one object implementing `Platform`. The work is done by one part per job:
 *   online.ts       deploy / delete / upgrade / place / size the services of an online workflow
 *   traffic.ts      where the entry point sends traffic (weights, fail-over to the backup)
 *   autoscaling.ts  the KEDA ScaledObject or HPA of a service
 *   batch.ts        batch workflows: stored definition, DAG runs of Jobs, single executors
 *   observation.ts  the sensors: ready replicas, pod placement
 * on top of objects.ts (apply/read/delete/list in one namespace, errors classified).
 */
import type {
  AffinitySpec,
  AutoscalingUpdate,
  BatchRunStatus,
  BatchWorkflowSpec,
  ContainerUpgrade,
  OnlineWorkflowSpec,
  Platform,
  PodPlacement,
  ReplicaStatus,
  ResourceSpec,
  RunOptions,
  ServiceSpec,
  StepStatus,
  TrafficSpec,
  WorkflowRef,
} from '../types.js';
import { checkDnsLabel } from '../names.js';
import type { ServiceEnvReading } from '../service-env.js';
import { Autoscalers } from './autoscaling.js';
import { BatchWorkflows } from './batch.js';
import { loadKubeConfig, makeClients } from './client.js';
import { NamespacedObjects } from './objects.js';
import { Observation } from './observation.js';
import { OnlineWorkflows } from './online.js';
import { TrafficRouting } from './traffic.js';

export { FIELD_MANAGER } from './objects.js';

export interface KubernetesPlatformOptions {
  namespace: string;
  /** Default: in-cluster config, else ~/.kube/config. */
  kubeconfigPath?: string;
}

export class KubernetesPlatform implements Platform {
  readonly namespace: string;
  private readonly online: OnlineWorkflows;
  private readonly traffic: TrafficRouting;
  private readonly autoscalers: Autoscalers;
  private readonly batch: BatchWorkflows;
  private readonly observation: Observation;

  constructor(opts: KubernetesPlatformOptions) {
    checkDnsLabel(opts.namespace, 'namespace');
    this.namespace = opts.namespace;
    const objects = new NamespacedObjects(opts.namespace, makeClients(loadKubeConfig(opts.kubeconfigPath)));
    this.traffic = new TrafficRouting(objects);
    this.online = new OnlineWorkflows(objects, this.traffic);
    this.autoscalers = new Autoscalers(objects);
    this.batch = new BatchWorkflows(objects);
    this.observation = new Observation(objects);
  }

  // ------------------------------------------------------------ online workflow

  deployWorkflow(spec: OnlineWorkflowSpec): Promise<void> {
    return this.online.deploy(spec);
  }
  deleteWorkflow(ref: WorkflowRef): Promise<void> {
    return this.online.delete(ref);
  }
  upgradeOnlineWorkflow(ref: WorkflowRef, service: string, change: ContainerUpgrade): Promise<void> {
    return this.online.upgrade(ref, service, change);
  }
  updateOnlineWorkflowAffinity(ref: WorkflowRef, service: string, affinity: AffinitySpec): Promise<void> {
    return this.online.updateAffinity(ref, service, affinity);
  }
  updateOnlineWorkflowResource(ref: WorkflowRef, service: string, resources: ResourceSpec): Promise<void> {
    return this.online.updateResources(ref, service, resources);
  }
  updateWorkflowReplica(ref: WorkflowRef, service: string, change: AutoscalingUpdate): Promise<void> {
    return this.autoscalers.update(ref, service, change);
  }
  updateWorkflowTraffic(ref: WorkflowRef, traffic: TrafficSpec): Promise<void> {
    return this.traffic.update(ref, traffic);
  }
  applyWorkflowInstance(ref: WorkflowRef, service: ServiceSpec): Promise<void> {
    return this.online.applyInstance(ref, service);
  }
  deleteWorkflowInstance(ref: WorkflowRef, service: string): Promise<void> {
    return this.online.deleteInstance(ref, service);
  }
  duplicateWorkflowInstance(ref: WorkflowRef, service: string, replicas: number): Promise<void> {
    return this.online.setReplicas(ref, service, replicas);
  }

  // ------------------------------------------------------------ batch workflow

  applyBatchWorkflow(spec: BatchWorkflowSpec): Promise<void> {
    return this.batch.apply(spec);
  }
  /** The stored definition of a batch workflow. */
  readBatchWorkflow(ref: WorkflowRef): Promise<BatchWorkflowSpec> {
    return this.batch.read(ref);
  }
  runWorkflow(ref: WorkflowRef, runId: string, opts?: RunOptions): Promise<BatchRunStatus> {
    return this.batch.run(ref, runId, opts);
  }
  stopWorkflow(ref: WorkflowRef, runId?: string): Promise<void> {
    return this.batch.stop(ref, runId);
  }
  upgradeBatchWorkflow(ref: WorkflowRef, change: ContainerUpgrade): Promise<void> {
    return this.batch.upgrade(ref, undefined, change);
  }
  updateBatchWorkflowAffinity(ref: WorkflowRef, affinity: AffinitySpec): Promise<void> {
    return this.batch.updateAffinity(ref, undefined, affinity);
  }
  updateBatchWorkflowResource(ref: WorkflowRef, resources: ResourceSpec): Promise<void> {
    return this.batch.updateResources(ref, undefined, resources);
  }
  runExecutor(ref: WorkflowRef, executor: string, runId: string, opts?: RunOptions): Promise<StepStatus> {
    return this.batch.runExecutor(ref, executor, runId, opts);
  }
  stopExecutor(ref: WorkflowRef, executor: string, runId?: string): Promise<void> {
    return this.batch.stopExecutor(ref, executor, runId);
  }
  upgradeExecutor(ref: WorkflowRef, executor: string, change: ContainerUpgrade): Promise<void> {
    return this.batch.upgrade(ref, executor, change);
  }
  updateExecutorAffinity(ref: WorkflowRef, executor: string, affinity: AffinitySpec): Promise<void> {
    return this.batch.updateAffinity(ref, executor, affinity);
  }
  updateExecutorResource(ref: WorkflowRef, executor: string, resources: ResourceSpec): Promise<void> {
    return this.batch.updateResources(ref, executor, resources);
  }

  // ------------------------------------------------------------ observation

  jobStatus(ref: WorkflowRef, runId: string): Promise<BatchRunStatus> {
    return this.batch.status(ref, runId);
  }
  readyReplicas(ref: WorkflowRef): Promise<ReplicaStatus[]> {
    return this.observation.readyReplicas(ref);
  }
  podPlacement(ref: WorkflowRef): Promise<PodPlacement[]> {
    return this.observation.podPlacement(ref);
  }
  /** Not a Table IV primitive: the reconciliation sensor (service-env.ts). */
  serviceEnv(ref: WorkflowRef, service: string): Promise<ServiceEnvReading> {
    return this.observation.serviceEnv(ref, service);
  }
}
