/**
 * Names shared by the MNIST case study's agents, activities and demo. Pure data: the agent
 * specs (JSON) and workflow code may import it.
 */
export const MNIST_APP = 'mnist';
export const CLASSIFIER_MODEL = 'mnist-classifier';
export const DETECTOR_MODEL = 'mnist-detector';
/** The online workflow serving the classifier, and its model-server service. */
export const SERVING_REF = { app: MNIST_APP, workflow: 'serving' } as const;
export const SERVING_SERVICE = 'model-server';
/** Held-out drifted evaluation set the planner compares versions on (labelled, never trained on). */
export const HELD_OUT_KEY = 'eval/held-out-drifted.sfimg';
/** Metric under which accuracy on the held-out drifted set is recorded in the registry. */
export const HELD_OUT_METRIC = 'accuracy.drifted';

/** Knowledge-store key of traffic batch `index` of the stream seeded `seed`. */
export function trafficBatchKey(seed: number, index: number): string {
  return `traffic/seed-${seed}/batch-${String(index).padStart(5, '0')}.sfimg`;
}

/** The stream's sample ids are `b<batch>-<i>`: the batch they came from, or undefined. */
export function batchIndexOfSample(id: string): number | undefined {
  const m = /^b(\d+)-\d+$/.exec(id);
  return m ? Number(m[1]) : undefined;
}
