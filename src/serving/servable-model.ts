/**
 * A loaded model version the server can call: a tfjs LayersModel on the native backend behind a
 * small interface, so the server, the batcher and the tests never touch tensors.
 */
import type * as TF from '@tensorflow/tfjs-node';
import { tensorflow } from '../ml/tf.js';
import { compileForwardPass } from './forward-pass.js';
import { CLASS_COUNT, IMAGE_SIZE, type Prediction } from './protocol.js';

export interface ServableModel {
  readonly version: string;
  /** count x 784 pixels in, probabilities and labels out. */
  predict(images: Float32Array, count: number): Promise<Prediction>;
  /** Frees the model's weights; called once no request uses it any more. */
  dispose(): void;
}

export interface ServableOptions {
  /**
   * Run a Sequential chain of known layers as its plain ops (forward-pass.ts). Default true, unless
   * SCANFLOW_SERVING_COMPILED=0 (to compare, or to rule it out, as SCANFLOW_TF_FAST_KERNELS in tf.ts).
   */
  compiled?: boolean;
}

/** Wraps a classifier whose input is [n, 28, 28, 1] or [n, 784] and whose output is [n, 10] probabilities. */
export function servableFromLayersModel(
  model: TF.LayersModel,
  version: string,
  options: ServableOptions = {},
): ServableModel & { readonly compiled: boolean } {
  const inputShape = model.inputs[0]?.shape ?? [];
  const flat = inputShape.length === 2;
  const outputShape = model.outputs[0]?.shape ?? [];
  if (!(inputShape.length === 4 || (flat && inputShape[1] === IMAGE_SIZE))) {
    throw new Error(
      `model version ${version}: input shape ${JSON.stringify(inputShape)} is neither [n, 28, 28, 1] nor [n, 784]`,
    );
  }
  if (outputShape.length !== 2 || outputShape[1] !== CLASS_COUNT) {
    throw new Error(`model version ${version}: output shape ${JSON.stringify(outputShape)} is not [n, ${CLASS_COUNT}]`);
  }
  const tf = tensorflow();
  const forward =
    (options.compiled ?? process.env.SCANFLOW_SERVING_COMPILED !== '0') && model.getClassName() === 'Sequential'
      ? compileForwardPass(tf, model.layers, flat ? 2 : 4)
      : undefined;
  const run = forward ?? ((x: TF.Tensor) => model.apply(x, { training: false }) as TF.Tensor);
  return {
    version,
    compiled: forward !== undefined,
    async predict(images, count) {
      // model.apply (or its compiled ops) skips predict()'s input checks and its split into batches
      // of 32; the arg-max is a loop over the probabilities already read, not a second op and read.
      const probs = tf.tidy(() => {
        const x = flat ? tf.tensor2d(images, [count, IMAGE_SIZE]) : tf.tensor4d(images, [count, 28, 28, 1]);
        return run(x);
      });
      let probabilities: Float32Array;
      try {
        probabilities = (await probs.data()) as Float32Array;
      } finally {
        probs.dispose();
      }
      return { probabilities, labels: argMaxRows(probabilities, count) };
    },
    dispose() {
      model.dispose();
    },
  };
}

/** Index of the largest of each row's CLASS_COUNT values (the first one on a tie, as tf.argMax). */
export function argMaxRows(probabilities: Float32Array, count: number): Int32Array {
  const labels = new Int32Array(count);
  for (let row = 0; row < count; row += 1) {
    const at = row * CLASS_COUNT;
    let best = 0;
    let max = probabilities[at]!;
    for (let k = 1; k < CLASS_COUNT; k += 1) {
      const v = probabilities[at + k]!;
      if (v > max) {
        max = v;
        best = k;
      }
    }
    labels[row] = best;
  }
  return labels;
}
