/**
 * How every classifier is compiled (Adam, sparse cross-entropy), in its own module so that the
 * architectures (classifier.ts, batch-norm.ts) and the training code share it without importing
 * each other.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { tensorflow } from './tf.js';

export function compileClassifier(model: LayersModel, learningRate: number): void {
  const tf = tensorflow();
  model.compile({
    optimizer: tf.train.adam(learningRate),
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
  });
}
