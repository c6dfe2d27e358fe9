/**
 * What an app (a case study, or a user's own) contributes to a worker: activities per task
 * queue. Its workflows are exported from `workers/workflows.ts`, the bundle's entry module.
 * The runtime under `src/` knows no app; this is the one place where they are plugged in.
 */
import type { TaskQueueRole } from '../src/agents/conventions.js';
import type { NamedActivities } from '../src/activities/agents/registry.js';
import type { KnowledgeStore } from '../src/knowledge/types.js';

/** What the worker hands an app's activity factories. */
export interface AppContext {
  store: KnowledgeStore;
}

export interface ScanflowAppModule {
  /** The app's name (the `app` of its agents). */
  name: string;
  /** Activities the app registers, per task queue. */
  activities: Partial<Record<TaskQueueRole, (ctx: AppContext) => NamedActivities>>;
}
