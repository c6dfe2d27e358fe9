/**
 * A loaded model version the server can call: a tfjs LayersModel on the native backend behind a
 * small interface, so the server, the batcher and the tests never touch tensors.
 */
import type * as TF from '@tensorflow/tfjs-node';
import { tensorflow } from '../ml/tf.js';
import { CLASS_COUNT, IMAGE_SIZE, type Prediction } from './protocol.js';

export interface ServableModel {
  readonly version: string;
  /** count x 784 pixels in, probabilities and labels out. */
  predict(images: Float32Array, count: number): Promise<Prediction>;
  /** Frees the model's weights; called once no request uses it any more. */
  dispose(): void;
}

/** Wraps a classifier whose input is [n, 28, 28, 1] or [n, 784] and whose output is [n, 10] probabilities. */
export function servableFromLayersModel(model: TF.LayersModel, version: string): ServableModel {
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
  return {
    version,
    async predict(images, count) {
      const [probs, labels] = tf.tidy(() => {
        const x = flat ? tf.tensor2d(images, [count, IMAGE_SIZE]) : tf.tensor4d(images, [count, 28, 28, 1]);
        const p = model.predict(x) as TF.Tensor2D;
        return [p, p.argMax(1).toInt()] as const;
      });
      try {
        const [p, l] = await Promise.all([probs.data(), labels.data()]);
        return { probabilities: p as Float32Array, labels: l as Int32Array };
      } finally {
        probs.dispose();
        labels.dispose();
      }
    },
    dispose() {
      model.dispose();
    },
  };
}
