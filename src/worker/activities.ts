/**
 * Which activities each task queue serves. A worker process serves one or more roles
 * (SCANFLOW_WORKER_ROLES), so ML activities can run on big nodes and Kubernetes activities
 * where the cluster credentials are.
 */
import type { Client } from '@temporalio/client';
import type { ScanflowConfig } from '../config.js';
import type { TaskQueueRole } from '../spec/task-queues.js';
import { createDiagnosticsActivities } from '../activities/diagnostics.js';
import { createAgentActivities, type NamedActivities } from '../activities/agents/registry.js';
import { createKnowledgeActivities } from '../activities/knowledge/knowledge-activities.js';
import { createMlActivities } from '../activities/ml/ml-activities.js';
import { createKubernetesActivities } from '../activities/kubernetes/index.js';
import { createMnistAppActivities } from '../apps/mnist/activities.js';
import { createTrafficActivities } from '../traffic/activities.js';
import { openKnowledgeStore } from '../knowledge/open-store.js';
import type { KnowledgeStore } from '../knowledge/types.js';
import { LocalPlatform } from '../platform/local/local-platform.js';
import { createLocalPlatformActivities } from '../platform/local/activities.js';

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
  userActivities: NamedActivities = {},
): WorkerResources {
  const store = openKnowledgeStore(config.knowledge);
  const { platform } = config;
  const localPlatform = platform.kind === 'local' ? new LocalPlatform({ workDir: platform.workDir }) : undefined;
  return {
    store,
    localPlatform,
    activitiesFor(role) {
      switch (role) {
        case 'system':
          return createDiagnosticsActivities(store);
        case 'agents':
          // The agent runtime's own activities (schedules, calls) plus the user's sensors and actions.
          return createAgentActivities({ client, extra: [userActivities] });
        case 'ml':
          return {
            ...createMlActivities({ store }),
            ...createKnowledgeActivities({ store }),
            ...createTrafficActivities({ store }),
            ...createMnistAppActivities({ store }),
          };
        case 'kubernetes':
          return platform.kind === 'kubernetes'
            ? createKubernetesActivities({ kubeconfigPath: platform.kubeconfig, namespace: platform.namespace })
            : createLocalPlatformActivities(localPlatform!);
      }
    },
    async close() {
      await localPlatform?.close();
    },
  };
}
