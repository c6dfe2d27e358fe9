/**
 * Which activities each task queue serves. A worker process serves one or more roles
 * (SCANFLOW_WORKER_ROLES), so ML activities can run on big nodes and Kubernetes activities
 * where the cluster credentials are.
 */
import type { Client } from '@temporalio/client';
import type { ScanflowConfig } from '../config.js';
import type { TaskQueueRole } from '../spec/task-queues.js';
import { createDiagnosticsActivities } from '../activities/diagnostics.js';
import { openKnowledgeStore } from '../knowledge/open-store.js';

export interface ActivityDeps {
  config: ScanflowConfig;
  /** For activities that talk to Temporal themselves (schedules, calling agents). */
  client: Client;
}

type Activities = Record<string, (...args: never[]) => Promise<unknown>>;

export function activitiesFor(role: TaskQueueRole, deps: ActivityDeps): Activities {
  switch (role) {
    case 'system':
      return { ...createDiagnosticsActivities(openKnowledgeStore(deps.config.knowledge)) };
    case 'agents':
      return {};
    case 'ml':
      return {};
    case 'kubernetes':
      return {};
  }
}
