/**
 * The data shapes of the ML library. `src/ml` imports nothing else of Scanflow: the knowledge
 * base (which stores image sets) and the activities import these from here, never the reverse.
 */

/** A batch of 28×28 grey images in [0,1], row-major, `count * 784` floats. */
export interface ImageSet {
  count: number;
  height: number;
  width: number;
  pixels: Float32Array;
  /** True labels 0..9 when known (the training set, or samples labelled by the oracle). */
  labels?: Int32Array;
  /** Optional per-image ids (e.g. prediction ids), same length as count. */
  ids?: string[];
}
