/**
 * The workloads of the MLPerf infrastructure study, as the platform primitives' specs
 * (src/platform/types.ts), declared by the user once and deployed with `deployWorkflow` /
 * `applyBatchWorkflow` (activities on the kubernetes task queue, or `platformOperationWorkflow`):
 *
 *   online  the model server (OIP v2) as a Deployment + Service with an autoscaler (HPA on CPU,
 *           the data engineer's baseline, or KEDA on queries/s per replica), and a backup service
 *           declared by the user, idle until the fail-over planner moves traffic to it;
 *   batch   Offline LoadGen against a model loaded in the pod (the tfjs SUT), as a Job.
 *
 * Pure: builds JSON only.
 */
import type { KnowledgeStoreConfig } from '../../knowledge/types.js';
import type {
  AffinitySpec,
  AutoscalingSpec,
  BatchWorkflowSpec,
  OnlineWorkflowSpec,
  ResourceSpec,
  ServiceSpec,
} from '../../platform/types.js';
import { modelServerService } from '../../serving/service-spec.js';
import { queriesPerReplicaQueries } from '../../activities/metrics/promql.js';
import {
  BACKUP_SERVICE,
  BATCH_WORKFLOW,
  MLPERF_APP,
  MLPERF_MODEL,
  MODEL_SERVER_SERVICE,
  OFFLINE_EXECUTOR,
  ONLINE_WORKFLOW,
} from './names.js';

/** The image with both entry points (deploy/image: `serve`, `script FILE.ts`). */
export const SCANFLOW_IMAGE = 'scanflow:latest';

export type OnlineAutoscaling =
  | { kind: 'hpa'; cpuUtilization: number; minReplicas?: number; maxReplicas?: number }
  | {
      kind: 'keda';
      /** Target answered queries/s per replica. */
      queriesPerReplica: number;
      /** Prometheus the autoscaler reads (in-cluster address). */
      prometheus: string;
      minReplicas?: number;
      maxReplicas?: number;
      /** Rate window of the query (default 1m; 10s with a 2 s scrape reacts within seconds). */
      window?: string;
      /** KEDA's polling interval (default 15 s). */
      pollingIntervalSeconds?: number;
    };

export interface OnlineWorkflowOptions {
  app?: string;
  workflow?: string;
  store: KnowledgeStoreConfig;
  model?: string;
  replicas?: number;
  image?: string;
  resources?: ResourceSpec;
  affinity?: AffinitySpec;
  autoscaling?: OnlineAutoscaling;
  /** The user's backup: where the fail-over planner sends all traffic (default: one replica of the same server). */
  backup?: Partial<Pick<ServiceSpec, 'image' | 'replicas' | 'affinity' | 'resources'>> | false;
}

const DEFAULT_RESOURCES: ResourceSpec = {
  requests: { cpu: '500m', memory: '512Mi' },
  limits: { cpu: '1', memory: '1Gi' },
};

function autoscalingOf(a: OnlineAutoscaling, app: string, workflow: string): AutoscalingSpec {
  const min = a.minReplicas ?? 1;
  const max = a.maxReplicas ?? 8;
  if (a.kind === 'hpa') return { kind: 'hpa', minReplicas: min, maxReplicas: max, cpuUtilization: a.cpuUtilization };
  // KEDA's threshold is an AverageValue target: the query gives the total, the HPA divides by replicas.
  const total = queriesPerReplicaQueries(
    `app="${app}",workflow="${workflow}",component="${MODEL_SERVER_SERVICE}"`,
    a.window ?? '1m',
    'pod',
  );
  return {
    kind: 'keda',
    minReplicas: min,
    maxReplicas: max,
    prometheus: {
      serverAddress: a.prometheus,
      query: total.average.replace(/^avg\(/, 'sum('),
      threshold: a.queriesPerReplica,
    },
    pollingIntervalSeconds: a.pollingIntervalSeconds ?? 15,
  };
}

/** The online inference workflow: model server + Service (+ autoscaler), and the declared backup. */
export function onlineInferenceWorkflow(o: OnlineWorkflowOptions): OnlineWorkflowSpec {
  const app = o.app ?? MLPERF_APP;
  const workflow = o.workflow ?? ONLINE_WORKFLOW;
  const model = o.model ?? MLPERF_MODEL;
  const server: ServiceSpec = {
    ...modelServerService({
      name: MODEL_SERVER_SERVICE,
      store: o.store,
      model,
      replicas: o.replicas ?? 1,
      image: o.image ?? SCANFLOW_IMAGE,
    }),
    resources: o.resources ?? DEFAULT_RESOURCES,
    ...(o.affinity ? { affinity: o.affinity } : {}),
    ...(o.autoscaling ? { autoscaling: autoscalingOf(o.autoscaling, app, workflow) } : {}),
  };
  const spec: OnlineWorkflowSpec = { app, workflow, services: [server], traffic: { active: MODEL_SERVER_SERVICE } };
  if (o.backup !== false) {
    const b = o.backup ?? {};
    spec.backup = {
      ...modelServerService({
        name: BACKUP_SERVICE,
        store: o.store,
        model,
        replicas: b.replicas ?? 1,
        image: b.image ?? o.image ?? SCANFLOW_IMAGE,
      }),
      resources: b.resources ?? DEFAULT_RESOURCES,
      ...(b.affinity ? { affinity: b.affinity } : {}),
    };
  }
  return spec;
}

export interface BatchWorkflowOptions {
  app?: string;
  workflow?: string;
  /** Knowledge base directory inside the pod holding the model registry (the tfjs SUT loads from it). */
  storeDirectory?: string;
  model?: string;
  /** Offline: expected QPS (sizes the one query) and minimum duration. */
  expectedQps?: number;
  durationSeconds?: number;
  image?: string;
  resources?: ResourceSpec;
  affinity?: AffinitySpec;
}

/** The batch inference workflow: Offline LoadGen against the in-pod model (tfjs SUT), one Job. */
export function batchInferenceWorkflow(o: BatchWorkflowOptions = {}): BatchWorkflowSpec {
  const model = o.model ?? MLPERF_MODEL;
  return {
    app: o.app ?? MLPERF_APP,
    workflow: o.workflow ?? BATCH_WORKFLOW,
    executors: [
      {
        name: OFFLINE_EXECUTOR,
        image: o.image ?? SCANFLOW_IMAGE,
        args: [
          'script',
          'src/cli/loadgen.ts',
          '--scenario',
          'offline',
          '--sut',
          'tfjs',
          '--store',
          o.storeDirectory ?? '/data/knowledge',
          '--model',
          model,
          '--qsl',
          'mnist-test',
          '--qps',
          String(o.expectedQps ?? 500),
          '--duration',
          String(o.durationSeconds ?? 600),
          '--json',
        ],
        resources: o.resources ?? { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } },
        ...(o.affinity ? { affinity: o.affinity } : {}),
        backoffLimit: 0,
      },
    ],
  };
}

/** Labels of a workflow's pods, for affinity terms (the platform labels every pod with them). */
export const workflowPodLabels = (ref: { app: string; workflow: string }): Record<string, string> => ({
  app: ref.app,
  workflow: ref.workflow,
});
