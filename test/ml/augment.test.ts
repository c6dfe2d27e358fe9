import { describe, expect, it } from '@jest/globals';
import { augmentBatch, GENERIC_AUGMENTATION, type AugmentOptions } from '../../src/ml/augment.js';
import { buildClassifier, fineTuneClassifier, trainClassifier } from '../../src/ml/classifier.js';
import { InvalidInputError } from '../../src/ml/errors.js';
import { loadMnist } from '../../src/ml/mnist.js';
import { imagesToTensor } from '../../src/ml/tensors.js';
import { tensorflow } from '../../src/ml/tf.js';

const tf = tensorflow();
const NONE: AugmentOptions = { rotateDegrees: 0, zoom: 0, shift: 0, noiseShare: 0, noiseStd: 0, blurShare: 0 };

describe('generic augmentation of a training batch (augment.ts)', () => {
  const digits = loadMnist('test', 16);

  it('is reproducible from its seed, differs between seeds, keeps shape and the [0, 1] range', () => {
    const x = imagesToTensor(digits);
    const [a, b, c] = [augmentBatch(x, 11), augmentBatch(x, 11), augmentBatch(x, 12)];
    expect(a.shape).toEqual([16, 28, 28, 1]);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    const diff = tf.tidy(() => tf.mean(tf.abs(tf.sub(a, c))).dataSync()[0] ?? 0);
    expect(diff).toBeGreaterThan(0.02);
    const range = tf.tidy(() => [tf.min(a).dataSync()[0], tf.max(a).dataSync()[0]]);
    expect(range[0]).toBeGreaterThanOrEqual(0);
    expect(range[1]).toBeLessThanOrEqual(1);
    tf.dispose([x, a, b, c]);
  });

  it('with zero ranges is the identity; a pure shift moves the ink by that many pixels', () => {
    const x = imagesToTensor(digits);
    const same = augmentBatch(x, 5, NONE);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(same, x))).dataSync()[0])).toBeLessThan(1e-5);
    // shift ±10 % of 28 = up to 2.8 px: the ink's centroid moves, by no more than that.
    const shifted = augmentBatch(x, 5, { ...NONE, shift: 0.1 });
    const centroid = (t: import('@tensorflow/tfjs-node').Tensor4D) =>
      tf.tidy(() => {
        const cols = tf.range(0, 28).reshape([1, 1, 28, 1]);
        return Array.from(tf.div(tf.sum(tf.mul(t, cols), [1, 2, 3]), tf.sum(t, [1, 2, 3])).dataSync());
      });
    const moves = centroid(shifted).map((c, i) => Math.abs(c - (centroid(x)[i] ?? 0)));
    expect(Math.max(...moves)).toBeGreaterThan(0.5);
    expect(Math.max(...moves)).toBeLessThan(3.2);
    tf.dispose([x, same, shifted]);
  });

  it('refuses a bad setting by name, and fine-tuning a bad augmentation choice', async () => {
    const model = buildClassifier(1);
    const data = loadMnist('train', 64);
    await expect(
      fineTuneClassifier(model, data, data, { seed: 1, epochs: 1, augmentation: 'strong' as 'generic' }),
    ).rejects.toThrow(/augmentation must be one of generic, none, got "strong"/);
    const x = imagesToTensor(digits);
    expect(() => augmentBatch(tf.reshape(x, [16, 28, 28]) as never, 1)).toThrow(InvalidInputError);
    await expect(
      trainClassifier(model, data, { seed: 1, epochs: 1, augmentation: { ...GENERIC_AUGMENTATION, zoom: -0.1 } }),
    ).rejects.toThrow(/augmentation zoom must be a number in \[0, 0.9\], got -0.1/);
    x.dispose();
    model.dispose();
  });
});
