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

/** Merges activity sets, refusing two with the same name (one would silently replace the other). */
export function mergeActivities(role: TaskQueueRole, sets: { owner: string; activities: NamedActivities }[]) {
  const merged: NamedActivities = {};
  const owners = new Map<string, string>();
  for (const { owner, activities } of sets) {
    for (const [name, fn] of Object.entries(activities)) {
      const first = owners.get(name);
      if (first !== undefined) {
        throw new Error(`task queue role '${role}': activity '${name}' is registered by both ${first} and ${owner}`);
      }
      owners.set(name, owner);
      merged[name] = fn;
    }
  }
  return merged;
}
