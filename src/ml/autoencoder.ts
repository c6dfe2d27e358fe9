/**
 * The drift detector's model: the original Scanflow convolutional autoencoder (4,385 parameters),
 * trained on clean digits in [0,1]. Its per-image score is the reconstruction error.
 */
import type { LayersModel, Sequential } from '@tensorflow/tfjs-node';
import type { ImageSet } from './types.js';
import { meanSquaredError, trainLoop } from './training-loop.js';
import { imagesToTensor } from './tensors.js';
import { tensorflow } from './tf.js';

/** Conv16 → pool → Conv8 → pool → Conv8 → pool (4×4×8 code) → Conv8 → up → Conv8 → up → Conv16 valid → up → Conv1 sigmoid. */
export function buildAutoencoder(seed: number, learningRate = 1.0): Sequential {
  const tf = tensorflow();
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed + k });
  const conv = (
    filters: number,
    k: number,
    padding: 'same' | 'valid' = 'same',
    activation: 'relu' | 'sigmoid' = 'relu',
  ) => tf.layers.conv2d({ filters, kernelSize: 3, padding, activation, kernelInitializer: init(k) });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 16,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }),
      conv(8, 2),
      tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }),
      conv(8, 3),
      tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }),
      conv(8, 4),
      tf.layers.upSampling2d({ size: [2, 2] }),
      conv(8, 5),
      tf.layers.upSampling2d({ size: [2, 2] }),
      conv(16, 6, 'valid'),
      tf.layers.upSampling2d({ size: [2, 2] }),
      conv(1, 7, 'same', 'sigmoid'),
    ],
  });
  // Keras' Adadelta of the original defaulted to lr 1.0 (tfjs defaults to 0.001, which barely moves).
  model.compile({ optimizer: tf.train.adadelta(learningRate), loss: 'meanSquaredError' });
  return model;
}

export interface AutoencoderTrainOptions {
  epochs: number;
  batchSize?: number;
  seed: number;
  onEpoch?: (epoch: number, loss: number) => void | Promise<void>;
  onProgress?: () => void;
}

export async function trainAutoencoder(
  model: LayersModel,
  clean: ImageSet,
  options: AutoencoderTrainOptions,
): Promise<{ finalLoss: number; seconds: number; imagesPerSecond: number }> {
  const xs = imagesToTensor(clean, 'autoencoder training data');
  try {
    const result = await trainLoop(model, xs, xs, {
      epochs: options.epochs,
      batchSize: options.batchSize ?? 128,
      seed: options.seed,
      loss: meanSquaredError,
      onEpoch: options.onEpoch,
      onProgress: options.onProgress,
    });
    return { finalLoss: result.finalLoss, seconds: result.seconds, imagesPerSecond: result.imagesPerSecond };
  } finally {
    xs.dispose();
  }
}

/** Per-image L2 reconstruction error: sqrt(Σ (x − x̂)²), in [0, 28]. */
export function reconstructionScores(model: LayersModel, images: ImageSet, batchSize = 1024): Float32Array {
  const tf = tensorflow();
  const xs = imagesToTensor(images);
  try {
    const scores = tf.tidy(() => {
      const recon = model.predict(xs, { batchSize }) as typeof xs;
      return tf.sqrt(tf.sum(tf.squaredDifference(xs, recon), [1, 2, 3]));
    });
    const out = scores.dataSync() as Float32Array;
    scores.dispose();
    return out;
  } finally {
    xs.dispose();
  }
}
