/**
 * The operation primitives of Table IV as one interface, plus the plain, JSON-serialisable
 * spec types they take. No imports: workflow code (deterministic) may import these types,
 * and every platform adapter (kubernetes, local) implements `Platform` (or its online half).
 *
 * Naming: a workflow is identified by (app, workflow). On Kubernetes every object it owns
 * carries the labels app=<app>, workflow=<workflow>, app.kubernetes.io/managed-by=scanflow.
 */

/** Which deployed workflow a primitive acts on. */
export interface WorkflowRef {
  app: string;
  workflow: string;
}

/** Kubernetes quantity strings ("500m", "256Mi"), also meaningful to a local adapter as hints. */
export interface ResourceQuantities {
  cpu?: string;
  memory?: string;
}

export interface ResourceSpec {
  requests?: ResourceQuantities;
  limits?: ResourceQuantities;
}

/** Keep pods away from (or next to) pods carrying these labels. */
export interface PodAffinityTerm {
  /** Labels of the other pods, e.g. { app: 'mlperf', workflow: 'serving' }. */
  matchLabels: Record<string, string>;
  /** 'required' = hard (scheduler refuses), 'preferred' = soft (scored). */
  mode: 'required' | 'preferred';
  /** 1-100, for 'preferred' only (default 100). */
  weight?: number;
  /** Default kubernetes.io/hostname: "not on the same node". */
  topologyKey?: string;
}

export interface AffinitySpec {
  /** Only nodes with all of these labels. */
  nodeSelector?: Record<string, string>;
  /** Stay off nodes that run matching pods. */
  antiAffinity?: PodAffinityTerm[];
  /** Go to nodes that run matching pods. */
  affinity?: PodAffinityTerm[];
}

/** One key of a Secret, by name. */
export interface SecretKeyRef {
  secret: string;
  key: string;
}

/** What runs: a container image (Kubernetes) or a command (local adapter). */
export interface ContainerSpec {
  image: string;
  command?: string[];
  args?: string[];
  /** Plain settings only: never a credential (specs are workflow payloads, visible in the Temporal UI). */
  env?: Record<string, string>;
  /**
   * Environment variables taken from a Secret, referenced by NAME and key only (Kubernetes:
   * `valueFrom.secretKeyRef`, the Secret lives in the namespace; local platform: the secrets its
   * worker was configured with), e.g. { SCANFLOW_S3_SECRET_KEY: { secret: 'scanflow-s3', key: 'secret-key' } }.
   * The values never travel in a spec.
   */
  secretEnv?: Record<string, SecretKeyRef>;
  /**
   * Kubernetes only: mount the namespace's ServiceAccount token (default false: a workload that
   * does not call the Kubernetes API gets no credential for it).
   */
  kubernetesApiAccess?: boolean;
  resources?: ResourceSpec;
  /** Extra pod annotations (e.g. prometheus.io/scrape). */
  annotations?: Record<string, string>;
}

// ---------------------------------------------------------------- batch workflows

/** One step of a batch workflow: a container run to completion (a Kubernetes Job). */
export interface ExecutorSpec extends ContainerSpec {
  /** DNS label: lowercase letters, digits, '-'. Unique within the workflow. */
  name: string;
  /** Executors that must succeed before this one starts. */
  dependsOn?: string[];
  affinity?: AffinitySpec;
  /** Pod retries before the step fails (Job backoffLimit, default 0). */
  backoffLimit?: number;
  /** Kill the step after this many seconds (Job activeDeadlineSeconds). */
  timeoutSeconds?: number;
}

/** A DAG of container executors (training, batch inference, drift detection). */
export interface BatchWorkflowSpec extends WorkflowRef {
  executors: ExecutorSpec[];
}

export type StepPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Skipped';

export interface StepStatus {
  executor: string;
  /** Kubernetes Job name (or local process id). */
  job: string;
  phase: StepPhase;
  startedAt?: string;
  finishedAt?: string;
  /** On failure: the container's terminated reason/message/exit code, or the Job's condition. */
  reason?: string;
  message?: string;
  exitCode?: number;
}

export interface BatchRunStatus extends WorkflowRef {
  runId: string;
  phase: 'Running' | 'Succeeded' | 'Failed';
  steps: StepStatus[];
}

/** Fields an upgrade may change on an executor or a service container. */
export interface ContainerUpgrade {
  image?: string;
  command?: string[];
  args?: string[];
  /**
   * Merged into the existing env (a model version as an env var is the usual case). A number is
   * written as its decimal text, so an agent can pass a version as the number it is.
   */
  env?: Record<string, string | number>;
}

// ---------------------------------------------------------------- online workflows

export interface KedaPrometheusAutoscaling {
  kind: 'keda';
  minReplicas: number;
  maxReplicas: number;
  prometheus: {
    serverAddress: string;
    query: string;
    /** Target value per replica (e.g. queries/s per replica). */
    threshold: number;
    activationThreshold?: number;
  };
  pollingIntervalSeconds?: number;
  cooldownPeriodSeconds?: number;
}

export interface HpaAutoscaling {
  kind: 'hpa';
  minReplicas: number;
  maxReplicas: number;
  /** Average CPU utilisation target in percent of requests. */
  cpuUtilization: number;
}

export type AutoscalingSpec = KedaPrometheusAutoscaling | HpaAutoscaling;

/** A long-running service of an online workflow (a model server). */
export interface ServiceSpec extends ContainerSpec {
  /** DNS label, unique within the workflow. */
  name: string;
  /** Port the container listens on (the Service exposes the same port). */
  port: number;
  replicas: number;
  affinity?: AffinitySpec;
  autoscaling?: AutoscalingSpec;
  /** HTTP path answering 200 when ready (readiness probe), e.g. /v2/health/ready. */
  readinessPath?: string;
}

/**
 * Where the workflow's entry point (a Service named after the workflow) sends traffic:
 * all of it to one service (`active`), or split by weights (an Istio VirtualService).
 */
export type TrafficSpec =
  { active: string; weights?: undefined } | { weights: Record<string, number>; active?: undefined };

export interface OnlineWorkflowSpec extends WorkflowRef {
  services: ServiceSpec[];
  /** A user-declared backup, deployed beside the services and idle until traffic moves to it. */
  backup?: ServiceSpec;
  /** Default: all traffic to the first service. */
  traffic?: TrafficSpec;
}

export interface ReplicaStatus {
  service: string;
  desired: number;
  ready: number;
  available: number;
  updated: number;
}

export interface PodPlacement {
  pod: string;
  /** Service or executor name (label scanflow.io/component). */
  component: string;
  /** Empty when not scheduled yet. */
  node: string;
  phase: string;
  ready: boolean;
  image: string;
}

export interface AutoscalingUpdate {
  minReplicas?: number;
  maxReplicas?: number;
  /** KEDA trigger threshold or HPA CPU utilisation. */
  threshold?: number;
}

// ---------------------------------------------------------------- the primitives

/** Online half: what the local adapter (processes on one machine) also implements. */
export interface OnlinePlatform {
  deployWorkflow(spec: OnlineWorkflowSpec): Promise<void>;
  deleteWorkflow(ref: WorkflowRef): Promise<void>;
  /** New image / model version: a rolling update of the service's pods. */
  upgradeOnlineWorkflow(ref: WorkflowRef, service: string, change: ContainerUpgrade): Promise<void>;
  updateOnlineWorkflowAffinity(ref: WorkflowRef, service: string, affinity: AffinitySpec): Promise<void>;
  updateOnlineWorkflowResource(ref: WorkflowRef, service: string, resources: ResourceSpec): Promise<void>;
  /** Autoscaling threshold/min/max on the service's ScaledObject or HPA. */
  updateWorkflowReplica(ref: WorkflowRef, service: string, change: AutoscalingUpdate): Promise<void>;
  updateWorkflowTraffic(ref: WorkflowRef, traffic: TrafficSpec): Promise<void>;
  /** Create or re-apply one service instance (Deployment + Service) of the workflow. */
  applyWorkflowInstance(ref: WorkflowRef, service: ServiceSpec): Promise<void>;
  deleteWorkflowInstance(ref: WorkflowRef, service: string): Promise<void>;
  /** Set the service's replica count. */
  duplicateWorkflowInstance(ref: WorkflowRef, service: string, replicas: number): Promise<void>;

  // observation (sensors)
  readyReplicas(ref: WorkflowRef): Promise<ReplicaStatus[]>;
  podPlacement(ref: WorkflowRef): Promise<PodPlacement[]>;
}

/** Batch half. A batch workflow's definition is stored on the platform; runs read it. */
export interface BatchPlatform {
  /** Store (or replace) the definition without running it. */
  applyBatchWorkflow(spec: BatchWorkflowSpec): Promise<void>;
  /**
   * Run the stored DAG as run `runId`: Jobs in dependency order, in parallel where the DAG
   * allows, followed to the end. Idempotent per runId: calling again re-attaches to the same Jobs.
   */
  runWorkflow(ref: WorkflowRef, runId: string, opts?: RunOptions): Promise<BatchRunStatus>;
  /** Delete every Job (and pod) of the workflow, or of one run. */
  stopWorkflow(ref: WorkflowRef, runId?: string): Promise<void>;
  /** Change the stored definition: applies to steps not started yet and to later runs. */
  upgradeBatchWorkflow(ref: WorkflowRef, change: ContainerUpgrade): Promise<void>;
  updateBatchWorkflowAffinity(ref: WorkflowRef, affinity: AffinitySpec): Promise<void>;
  updateBatchWorkflowResource(ref: WorkflowRef, resources: ResourceSpec): Promise<void>;

  /** Run one executor of the stored definition (ignoring its dependencies) and follow it. */
  runExecutor(ref: WorkflowRef, executor: string, runId: string, opts?: RunOptions): Promise<StepStatus>;
  stopExecutor(ref: WorkflowRef, executor: string, runId?: string): Promise<void>;
  upgradeExecutor(ref: WorkflowRef, executor: string, change: ContainerUpgrade): Promise<void>;
  updateExecutorAffinity(ref: WorkflowRef, executor: string, affinity: AffinitySpec): Promise<void>;
  updateExecutorResource(ref: WorkflowRef, executor: string, resources: ResourceSpec): Promise<void>;

  // observation
  jobStatus(ref: WorkflowRef, runId: string): Promise<BatchRunStatus>;
  podPlacement(ref: WorkflowRef): Promise<PodPlacement[]>;
}

export interface RunOptions {
  /** Called on every observed change (activities heartbeat from here). */
  onProgress?: (status: BatchRunStatus) => void;
  /** Abort following (the Jobs keep running) when this signal fires. */
  signal?: AbortSignal;
  /** Poll interval while following (default 500 ms). */
  pollMs?: number;
}

/**
 * Table IV names upgradeWorkflow / updateWorkflowAffinity / updateWorkflowResource for both
 * batch and online workflows; here they carry the kind in their name so one adapter can
 * implement both halves without overloads that a JSON-driven agent could not tell apart.
 */
export interface Platform extends OnlinePlatform, BatchPlatform {
  podPlacement(ref: WorkflowRef): Promise<PodPlacement[]>;
}

/** Labels every platform object carries (also used by the local adapter for its records). */
export const LABEL_APP = 'app';
export const LABEL_WORKFLOW = 'workflow';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_COMPONENT = 'scanflow.io/component';
export const LABEL_RUN = 'scanflow.io/run';
export const MANAGED_BY = 'scanflow';
