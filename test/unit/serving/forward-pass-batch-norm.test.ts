/**
 * The compiled forward pass (src/serving/forward-pass.ts) serves BatchNormalization and
 * Activation layers: the same probabilities as model.predict for the BN classifier
 * (src/ml/batch-norm.ts), with non-trivial statistics, and the fallback for a BN it does not
 * reproduce.
 */
import { describe, expect, it } from '@jest/globals';
import type * as TF from '@tensorflow/tfjs-node';
import { batchNormLayers } from '../../../src/ml/batch-norm.js';
import { buildBatchNormClassifier } from '../../../src/ml/classifier.js';
import { tensorflow } from '../../../src/ml/tf.js';
import { compileForwardPass } from '../../../src/serving/forward-pass.js';
import { servableFromLayersModel } from '../../../src/serving/servable-model.js';

const tf = tensorflow();

/** Random γ, β, moving mean and variance, so BN is not the identity it is when built. */
function randomiseBatchNorm(model: TF.LayersModel, seed: number): void {
  batchNormLayers(model).forEach((layer, i) => {
    const c = layer.getWeights()[0]?.shape[0] ?? 0;
    layer.setWeights([
      tf.randomUniform([c], 0.5, 1.5, 'float32', seed + 4 * i),
      tf.randomUniform([c], -0.5, 0.5, 'float32', seed + 4 * i + 1),
      tf.randomUniform([c], -0.3, 0.3, 'float32', seed + 4 * i + 2),
      tf.randomUniform([c], 0.05, 2, 'float32', seed + 4 * i + 3),
    ]);
  });
}

describe('compiled forward pass with BatchNormalization', () => {
  it('equals model.predict on random inputs within 1e-4 (the BN classifier, non-trivial statistics)', async () => {
    const model = buildBatchNormClassifier(11);
    randomiseBatchNorm(model, 100);
    const forward = compileForwardPass(tf, model.layers, 4);
    expect(forward).toBeDefined();
    for (const [count, seed] of [
      [1, 1],
      [9, 2],
      [64, 3],
    ] as const) {
      const x = tf.randomUniform([count, 28, 28, 1], 0, 1, 'float32', seed);
      const expected = (model.predict(x) as TF.Tensor).dataSync();
      const got = tf.tidy(() => forward!(x).dataSync());
      expect(got).toHaveLength(count * 10);
      let worst = 0;
      got.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - expected[i]!))));
      expect(worst).toBeLessThan(1e-4);
      x.dispose();
    }
    // And through the server's wrapper: compiled, same labels as predict.
    const served = servableFromLayersModel(model, '1', { compiled: true });
    expect(served.compiled).toBe(true);
    const pixels = new Float32Array(16 * 784).map((_, i) => ((i * 7919) % 1000) / 1000);
    const p = await served.predict(pixels, 16);
    const reference = tf.tidy(() =>
      tf.argMax(model.predict(tf.tensor4d(pixels, [16, 28, 28, 1])) as TF.Tensor, 1).dataSync(),
    );
    expect(Array.from(p.labels)).toEqual(Array.from(reference));
    served.dispose();
  });

  it('serves BN on a dense layer and Activation layers (tanh, sigmoid, softmax) as predict does', () => {
    const init = (seed: number) => tf.initializers.glorotUniform({ seed });
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [784], units: 16, useBias: false, kernelInitializer: init(1) }),
        tf.layers.batchNormalization({ epsilon: 0.01 }),
        tf.layers.activation({ activation: 'tanh' }),
        tf.layers.dense({ units: 12, kernelInitializer: init(2) }),
        tf.layers.activation({ activation: 'sigmoid' }),
        tf.layers.dense({ units: 10, kernelInitializer: init(3) }),
        tf.layers.activation({ activation: 'softmax' }),
      ],
    });
    randomiseBatchNorm(model, 7);
    const forward = compileForwardPass(tf, model.layers, 2);
    expect(forward).toBeDefined();
    const x = tf.randomUniform([5, 784], 0, 1, 'float32', 4);
    const expected = (model.predict(x) as TF.Tensor).dataSync();
    const got = tf.tidy(() => forward!(x).dataSync());
    got.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-4));
    x.dispose();
    model.dispose();
  });

  it('falls back (undefined) for BN on another axis than the last', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3 }),
        tf.layers.batchNormalization({ axis: 1 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    expect(compileForwardPass(tf, model.layers, 4)).toBeUndefined();
    model.dispose();
  });
});
