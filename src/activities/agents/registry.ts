/**
 * The activities an agent worker registers: the runtime's own (schedules, calls) plus the
 * user's named sensors and actions. Strategies refer to activities by these names, so a user adds
 * a sensor by writing a function and passing it here:
 *
 *   const activities = createAgentActivities({ client, sensors: { countPredictions }, actions: { retrain } });
 *   await Worker.create({ taskQueue: 'scanflow-agents', workflowsPath, activities, ... });
 */
import type { Client } from '@temporalio/client';
import { keepBeating } from '../support.js';
import { createAgentRuntimeActivities } from './runtime.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NamedActivities = Record<string, (...args: any[]) => Promise<unknown>>;

export interface AgentActivitiesOptions {
  client: Client;
  sensors?: NamedActivities;
  actions?: NamedActivities;
  /** More activity sets (for example the Kubernetes primitives) merged in under their own names. */
  extra?: NamedActivities[];
}

/** Merges activity sets; a name defined twice is an error (a strategy would not know which one runs). */
export function mergeActivities(...sets: NamedActivities[]): NamedActivities {
  const merged: NamedActivities = {};
  for (const set of sets) {
    for (const [name, fn] of Object.entries(set)) {
      if (typeof fn !== 'function') throw new Error(`activity "${name}" is not a function`);
      if (name in merged && merged[name] !== fn)
        throw new Error(`activity "${name}" is registered twice: give the sensor or action another name`);
      merged[name] = fn;
    }
  }
  return merged;
}

/**
 * Every activity of a set, heartbeating while it runs (keepBeating): the agent workflow gives the
 * sensors and actions on its own task queue a heartbeat timeout (10 s by default), so after a
 * worker dies the interrupted activity is retried within seconds, even one that never heartbeats.
 */
export function heartbeating(set: NamedActivities): NamedActivities {
  return Object.fromEntries(
    Object.entries(set).map(([name, fn]) => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const wrapped = (...args: any[]) => keepBeating(() => fn(...args));
      Object.defineProperty(wrapped, 'name', { value: name });
      return [name, wrapped];
    }),
  );
}

export function createAgentActivities(options: AgentActivitiesOptions): NamedActivities {
  return heartbeating(
    mergeActivities(
      createAgentRuntimeActivities(options.client),
      options.sensors ?? {},
      options.actions ?? {},
      ...(options.extra ?? []),
    ),
  );
}
