/**
 * The MLPerf planners' decision modules as activities (sensors on the agents' task queue): each
 * wraps a pure function of decisions.ts, turns bad parameters into a non-retryable failure (the
 * decision log says which parameter), and returns its inputs beside its output, so the decision
 * log shows what was decided from what.
 */
import { ApplicationFailure } from '@temporalio/common';
import { heartbeating, type NamedActivities } from '../../activities/agents/registry.js';
import type { PrometheusSettings } from '../../activities/metrics/prometheus.js';
import {
  decideFailover,
  decideInterference,
  DecisionInputError,
  type FailoverInput,
  type InterferenceInput,
  type TunerInput,
} from './decisions.js';
import { decideTuner } from './keda-tuner.js';
import { createSurgeSensor, type SurgeArgs } from './surge.js';

function decided<I, O>(name: string, fn: (input: I) => O, input: I): O & { inputs: I } {
  try {
    return { ...fn(input), inputs: input };
  } catch (err) {
    if (err instanceof DecisionInputError)
      throw ApplicationFailure.nonRetryable(`${name}: ${err.message}`, 'InvalidDecisionInput');
    throw err;
  }
}

export interface MlperfActivityOptions {
  /** The clock of the fail-over planner (tests may fix it). */
  now?: () => number;
  /** The surge sensor's Prometheus (default: SCANFLOW_PROMETHEUS_URL, read at its first call). */
  prometheus?: PrometheusSettings;
}

export function createMlperfActivities(options: MlperfActivityOptions = {}) {
  const now = options.now ?? Date.now;
  let surge: ReturnType<typeof createSurgeSensor> | undefined;
  return {
    /**
     * QoS tuner: the autoscaler threshold to apply, from the QoS observation (hysteresis, steps,
     * cooldown): an HPA's CPU target (decisions.ts) or KEDA's queries/s per replica (keda-tuner.ts).
     */
    async mlperfTuneThreshold(input: TunerInput) {
      return decided('mlperfTuneThreshold', decideTuner, input);
    },
    /** The KEDA-mode tuner's sensor: the load's largest rise within a reaction time (surge.ts), with its PromQL. */
    async mlperfLoadSurge(input: SurgeArgs) {
      surge ??= createSurgeSensor(options.prometheus, now);
      return surge(input);
    },
    /** Anti-affinity planner: is a busy batch pod slowing the online service down on a shared node? */
    async mlperfInterference(input: InterferenceInput) {
      return decided('mlperfInterference', decideInterference, input);
    },
    /** Fail-over planner: ready replicas 0 held long enough → backup; ready again long enough → back. */
    async mlperfFailover(input: Omit<FailoverInput, 'now'> & { now?: number }) {
      return decided('mlperfFailover', decideFailover, { ...input, now: input.now ?? now() });
    },
  };
}

/** What the app registers on the agents' task queue (heartbeating like the runtime's sensors). */
export function createMlperfAppActivities(options: MlperfActivityOptions = {}): NamedActivities {
  return heartbeating(createMlperfActivities(options));
}
