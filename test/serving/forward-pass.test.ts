/**
 * The compiled forward pass (src/serving/forward-pass.ts) against the model's own `apply`, on
 * native TensorFlow: the same probabilities for every supported layer and setting, and a fallback
 * to `apply` (still the same answers) for a layer it does not reproduce.
 */
import { describe, expect, it } from '@jest/globals';
import type * as TF from '@tensorflow/tfjs-node';
import { buildClassifier } from '../../src/ml/classifier.js';
import { tensorflow } from '../../src/ml/tf.js';
import { servableFromLayersModel } from '../../src/serving/servable-model.js';
import { images, tinyClassifier } from './fixtures.js';

const tf = tensorflow();
const init = (seed: number) => tf.initializers.glorotUniform({ seed });

async function expectSameAsApply(model: TF.LayersModel, compiled: boolean, count = 5): Promise<void> {
  const served = servableFromLayersModel(model, '1', { compiled: true });
  expect(served.compiled).toBe(compiled);
  const pixels = new Float32Array(images(count, 9));
  const flat = model.inputs[0]!.shape.length === 2;
  const expected = tf.tidy(() =>
    (
      model.apply(flat ? tf.tensor2d(pixels, [count, 784]) : tf.tensor4d(pixels, [count, 28, 28, 1]), {
        training: false,
      }) as TF.Tensor
    ).dataSync(),
  );
  const p = await served.predict(pixels, count);
  expect(p.probabilities).toHaveLength(count * 10);
  p.probabilities.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
  model.dispose();
}

describe('compiled forward pass', () => {
  it('gives the case-study CNN the same probabilities as model.apply', async () => {
    const model = buildClassifier(3);
    const served = servableFromLayersModel(model, '1', { compiled: true });
    const reference = servableFromLayersModel(model, '1', { compiled: false });
    expect(served.compiled).toBe(true);
    expect(reference.compiled).toBe(false);
    for (const count of [1, 7, 64]) {
      const pixels = new Float32Array(images(count, count));
      const [a, b] = await Promise.all([served.predict(pixels, count), reference.predict(pixels, count)]);
      a.probabilities.forEach((v, i) => expect(v).toBeCloseTo(b.probabilities[i]!, 6));
      expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    }
    model.dispose();
  });

  it('reproduces same padding, strides, average pooling, tanh/sigmoid, dense without bias, flat input', async () => {
    const a = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [28, 28, 1],
          filters: 3,
          kernelSize: 5,
          strides: 2,
          padding: 'same',
          activation: 'tanh',
          kernelInitializer: init(1),
          biasInitializer: 'ones',
        }),
        tf.layers.averagePooling2d({ poolSize: 2, strides: 1 }),
        tf.layers.maxPooling2d({ poolSize: 3, padding: 'same' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 16, activation: 'sigmoid', useBias: false, kernelInitializer: init(2) }),
        tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(3) }),
      ],
    });
    await expectSameAsApply(a, true);
    const b = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [784], units: 32, activation: 'relu', kernelInitializer: init(4) }),
        tf.layers.dropout({ rate: 0.5 }),
        tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(5) }),
      ],
    });
    await expectSameAsApply(b, true);
    await expectSameAsApply(tinyClassifier(2), true);
  });

  it('is the default unless SCANFLOW_SERVING_COMPILED=0', () => {
    const model = tinyClassifier(4);
    const saved = process.env.SCANFLOW_SERVING_COMPILED;
    try {
      delete process.env.SCANFLOW_SERVING_COMPILED;
      expect(servableFromLayersModel(model, '1').compiled).toBe(true);
      process.env.SCANFLOW_SERVING_COMPILED = '0';
      expect(servableFromLayersModel(model, '1').compiled).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.SCANFLOW_SERVING_COMPILED;
      else process.env.SCANFLOW_SERVING_COMPILED = saved;
      model.dispose();
    }
  });

  it('keeps model.apply for a layer it does not reproduce', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [28, 28, 1] }),
        // BatchNormalization is served since issue #14 (test/unit/serving/forward-pass-batch-norm.test.ts).
        tf.layers.leakyReLU({ alpha: 0.2 }),
        tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(6) }),
      ],
    });
    await expectSameAsApply(model, false);
    const dilated = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 2, kernelSize: 3, dilationRate: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    await expectSameAsApply(dilated, false);
  });
});
