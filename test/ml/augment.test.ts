import { describe, expect, it } from '@jest/globals';
import { augmentBatch, GENERIC_AUGMENTATION, V1_AUGMENTATION, type AugmentOptions } from '../../src/ml/augment.js';
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
    ).rejects.toThrow(/augmentation must be one of generic, generic-jitter, v1, none, got "strong"/);
    const x = imagesToTensor(digits);
    expect(() => augmentBatch(tf.reshape(x, [16, 28, 28]) as never, 1)).toThrow(InvalidInputError);
    await expect(
      trainClassifier(model, data, { seed: 1, epochs: 1, augmentation: { ...GENERIC_AUGMENTATION, zoom: -0.1 } }),
    ).rejects.toThrow(/augmentation zoom must be a number in \[0, 0.9\], got -0.1/);
    expect(() => augmentBatch(x, 1, { ...NONE, affineShare: 1.5 })).toThrow(
      /augmentation affineShare must be a number in \[0, 1\], got 1.5/,
    );
    expect(() => augmentBatch(x, 1, { ...NONE, jitterShare: 0.5, brightness: -1 })).toThrow(
      /augmentation brightness must be a number in \[0, 1\], got -1/,
    );
    expect(() => augmentBatch(x, 1, { ...NONE, wholePixelShifts: 'yes' as unknown as boolean })).toThrow(
      /augmentation wholePixelShifts must be a boolean, got "yes"/,
    );
    x.dispose();
    model.dispose();
  });

  it('warps only affineShare of the images; whole-pixel shifts copy pixels (no smoothing)', () => {
    const x = imagesToTensor(digits);
    const perImage = (t: import('@tensorflow/tfjs-node').Tensor4D) =>
      Array.from(tf.tidy(() => tf.max(tf.abs(tf.sub(t, x)), [1, 2, 3]).dataSync()));
    const none = augmentBatch(x, 3, { ...NONE, shift: 0.1, affineShare: 0 });
    expect(Math.max(...perImage(none))).toBeLessThan(1e-5);
    const half = augmentBatch(x, 3, { ...NONE, shift: 0.1, rotateDegrees: 10, affineShare: 0.5 });
    const moved = perImage(half).filter((d) => d > 1e-3).length;
    expect(moved).toBeGreaterThan(2);
    expect(moved).toBeLessThan(14);
    // A whole-pixel shift keeps the set of pixel values (bar the border fill): no new grey levels.
    const shifted = augmentBatch(x, 4, { ...NONE, shift: 0.1, wholePixelShifts: true });
    const levels = (t: import('@tensorflow/tfjs-node').Tensor) =>
      new Set(Array.from(t.dataSync()).map((v) => v.toFixed(5)));
    const original = levels(x);
    expect([...levels(shifted)].every((v) => original.has(v))).toBe(true);
    tf.dispose([x, none, half, shifted]);
  });

  it('blurs and noises only their share of the images, each image in its own place', () => {
    const x = imagesToTensor(digits);
    const perImage = (a: import('@tensorflow/tfjs-node').Tensor, b: import('@tensorflow/tfjs-node').Tensor) =>
      Array.from(tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b)), [1, 2, 3]).dataSync()));
    // The neighbour's original: an image written back in another image's place would be closer to it.
    const neighbours = tf.concat([tf.slice(x, 1, 15), tf.slice(x, 0, 1)]);
    for (const setting of [
      { ...NONE, blurShare: 0.4 },
      { ...NONE, noiseShare: 0.4, noiseStd: 0.05 },
    ]) {
      const out = augmentBatch(x, 21, setting);
      const own = perImage(out, x);
      const other = perImage(out, neighbours);
      const changed = own.filter((d) => d > 1e-6).length;
      expect(changed).toBeGreaterThan(1);
      expect(changed).toBeLessThan(14);
      own.forEach((d, i) => expect(d).toBeLessThan(other[i] ?? 0));
      out.dispose();
    }
    tf.dispose([x, neighbours]);
  });

  it("colour jitter changes brightness and contrast within [0, 1] and uses only the batch's own pixels", () => {
    const x = imagesToTensor(digits);
    const jittered = augmentBatch(x, 9, { ...NONE, jitterShare: 1, brightness: 0.4, contrast: 0.4 });
    const means = (t: import('@tensorflow/tfjs-node').Tensor) =>
      Array.from(tf.tidy(() => tf.mean(t, [1, 2, 3]).dataSync()));
    const shifts = means(jittered).map((m, i) => Math.abs(m - (means(x)[i] ?? 0)));
    expect(Math.max(...shifts)).toBeGreaterThan(0.05);
    const range = tf.tidy(() => [tf.min(jittered).dataSync()[0], tf.max(jittered).dataSync()[0]]);
    expect(range[0]).toBeGreaterThanOrEqual(0);
    expect(range[1]).toBeLessThanOrEqual(1);
    tf.dispose([x, jittered]);
  });

  it("V1's default recipe augments (V1_AUGMENTATION); an explicit batch size or 'none' does not", async () => {
    const data = loadMnist('train', 256);
    const weightsAfter = async (options: Partial<Parameters<typeof trainClassifier>[2]>) => {
      const model = buildClassifier(2);
      await trainClassifier(model, data, { epochs: 2, seed: 5, ...options });
      const w = Array.from(model.getWeights()[0]?.dataSync() ?? []);
      model.dispose();
      return w;
    };
    const none = await weightsAfter({ augmentation: 'none' });
    expect(await weightsAfter({})).not.toEqual(none);
    expect(await weightsAfter({ augmentation: V1_AUGMENTATION })).toEqual(await weightsAfter({}));
    expect(await weightsAfter({ batchSize: 32 })).toEqual(await weightsAfter({ batchSize: 32, augmentation: 'none' }));
    // SCANFLOW_V1_AUGMENTATION=0: the default recipe without it (a side-by-side bootstrap).
    const saved = process.env.SCANFLOW_V1_AUGMENTATION;
    try {
      process.env.SCANFLOW_V1_AUGMENTATION = '0';
      expect(await weightsAfter({})).toEqual(none);
      process.env.SCANFLOW_V1_AUGMENTATION = 'off';
      await expect(weightsAfter({})).rejects.toThrow(/SCANFLOW_V1_AUGMENTATION must be 0 or 1, got "off"/);
    } finally {
      if (saved === undefined) delete process.env.SCANFLOW_V1_AUGMENTATION;
      else process.env.SCANFLOW_V1_AUGMENTATION = saved;
    }
  });
});
