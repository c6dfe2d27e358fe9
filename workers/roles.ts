/**
 * Which activities each task queue serves: the runtime's, then every installed app's. A worker
 * process serves one or more roles (SCANFLOW_WORKER_ROLES), so ML activities can run on big
 * nodes and platform activities where the cluster credentials are.
 */
import type { Client } from '@temporalio/client';
import type { ScanflowConfig } from '../src/config.js';
import type { TaskQueueRole } from '../src/agents/conventions.js';
import { createDiagnosticsActivities } from '../src/activities/diagnostics.js';
import { createAgentActivities, heartbeating, type NamedActivities } from '../src/activities/agents/registry.js';
import { createKnowledgeActivities } from '../src/activities/knowledge/knowledge-activities.js';
import { createMlActivities } from '../src/activities/ml/ml-activities.js';
import { createPlatformActivities } from '../src/activities/platform/index.js';
import { createServingReconcileActivities } from '../src/activities/agents/reconcile-serving.js';
import { KubernetesPlatform } from '../src/platform/kubernetes/adapter.js';
import { createLoadgenActivities } from '../src/activities/loadgen/loadgen-activities.js';
import { createMetricsActivities } from '../src/activities/metrics/metrics-activities.js';
import { prometheusSettingsFrom } from '../src/activities/metrics/prometheus.js';
import { createLocalPlatformActivities } from '../src/activities/platform/local.js';
import { kubernetesTrainingJobActivities } from '../src/activities/platform/training-job.js';
import { createTrafficActivities } from '../src/activities/traffic.js';
import { openKnowledgeStore } from '../src/knowledge/open-store.js';
import type { KnowledgeStore } from '../src/knowledge/types.js';
import { LocalPlatform } from '../src/platform/local/local-platform.js';
import { localModelServerSupport } from '../src/serving/local-model-server.js';
import { mergeActivities, type AppContext, type ScanflowAppModule } from './app.js';
import { installedApps } from './apps.js';

export interface WorkerResources {
  activitiesFor(role: TaskQueueRole): NamedActivities;
  /** The local platform's replicas (when this process runs them). */
  localPlatform?: LocalPlatform;
  store: KnowledgeStore;
  /** Stops what the activities started (local model-server processes). */
  close(): Promise<void>;
}

export function createWorkerResources(
  config: ScanflowConfig,
  client: Client,
  options: { apps?: readonly ScanflowAppModule[]; userActivities?: NamedActivities } = {},
): WorkerResources {
  const store = openKnowledgeStore(config.knowledge);
  const apps = options.apps ?? installedApps;
  const { platform } = config;
  // The local platform runs processes; serving tells it how to run and hot-switch a model server.
  const localPlatform =
    platform.kind === 'local'
      ? new LocalPlatform({
          workDir: platform.workDir,
          // The S3 keys specs reference by Secret name resolve here, on the worker: never in a payload.
          ...localModelServerSupport(config.knowledge),
        })
      : undefined;
  const runtime: Record<TaskQueueRole, () => NamedActivities> = {
    system: () => createDiagnosticsActivities(store),
    // The agent runtime's own activities (schedules, calls), the Prometheus sensors (SCANFLOW_PROMETHEUS_URL)
    // and the user's sensors and actions.
    agents: () =>
      createAgentActivities({
        client,
        extra: [createMetricsActivities(prometheusSettingsFrom(process.env)), options.userActivities ?? {}],
      }),
    ml: () => ({
      ...createMlActivities({ store }),
      ...createKnowledgeActivities({ store }),
      ...createTrafficActivities({ store }),
      ...createLoadgenActivities({ store }),
    }),
    // The primitives, and the reconciliation of the served model version with the registry's
    // production (a sensor and an action of the executor) on the same platform.
    kubernetes: () => {
      if (platform.kind === 'kubernetes') {
        const kubernetes = new KubernetesPlatform({
          kubeconfigPath: platform.kubeconfig,
          namespace: platform.namespace,
        });
        return {
          ...createPlatformActivities(kubernetes),
          ...createServingReconcileActivities({ store, platform: kubernetes }),
          ...kubernetesTrainingJobActivities({
            kubeconfigPath: platform.kubeconfig,
            namespace: platform.namespace,
            store,
            storeConfig: config.knowledge,
          }),
        };
      }
      return {
        ...createLocalPlatformActivities(localPlatform!),
        ...createServingReconcileActivities({ store, platform: localPlatform! }),
      };
    },
  };
  const context: AppContext = { store };
  return {
    store,
    localPlatform,
    activitiesFor(role) {
      // Every activity heartbeats while it runs, so an agent's action on any Scanflow queue (the
      // executor's upgrade on scanflow-kubernetes) is retried seconds after its worker dies.
      return heartbeating(
        mergeActivities(role, [
          { owner: 'the runtime', activities: runtime[role]() },
          ...apps.flatMap((app) => {
            const factory = app.activities[role];
            return factory ? [{ owner: `app '${app.name}'`, activities: factory(context) }] : [];
          }),
        ]),
      );
    },
    async close() {
      await localPlatform?.close();
    },
  };
}
