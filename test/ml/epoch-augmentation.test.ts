import { describe, expect, it } from '@jest/globals';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-node';
import { augmentBatch, V1_AUGMENTATION } from '../../src/ml/augment.js';
import { buildClassifier, evaluateClassifier } from '../../src/ml/classifier.js';
import { InvalidInputError } from '../../src/ml/errors.js';
import { loadMnist } from '../../src/ml/mnist.js';
import { imagesToTensor } from '../../src/ml/tensors.js';
import { tensorflow } from '../../src/ml/tf.js';
import { CHUNK_IMAGES, sparseCrossEntropy, trainLoop } from '../../src/ml/training-loop.js';
import type { ImageSet } from '../../src/ml/types.js';

const tf = tensorflow();

/** One number per image from all its pixels (a fixed random weighting): tells images apart. */
function fingerprints(x: Tensor): number[] {
  return tf.tidy(() => {
    const weights = tf.randomUniform([1, 28, 28, 1], 0.5, 1.5, 'float32', 42);
    return Array.from(tf.sum(tf.mul(x, weights), [1, 2, 3]).dataSync()).map((v) => Number(v.toFixed(3)));
  });
}

interface Call {
  seed: number;
  inputs: number[];
  outputs: Float32Array[];
}

/** Trains 2 epochs with V1_AUGMENTATION per chunk, recording every augmentation call. */
async function recordRun(data: ImageSet, seed: number, chunkImages: number) {
  const xs = imagesToTensor(data);
  const ys = tf.tensor1d(data.labels as Int32Array, 'int32');
  const model = buildClassifier(3);
  const calls: Call[] = [];
  const before = tf.memory().numTensors;
  const result = await trainLoop(model, xs, ys, {
    epochs: 2,
    batchSize: 32,
    seed,
    chunkImages,
    loss: sparseCrossEntropy,
    augment: (x, chunkSeed) => {
      const out = augmentBatch(x as Tensor4D, chunkSeed, V1_AUGMENTATION);
      const n = x.shape[0] ?? 0;
      const pixels = out.dataSync() as Float32Array;
      calls.push({
        seed: chunkSeed,
        inputs: fingerprints(x),
        outputs: Array.from({ length: n }, (_, i) => pixels.slice(i * 784, (i + 1) * 784)),
      });
      return out;
    },
  });
  const kept = tf.memory().numTensors - before;
  const ids = fingerprints(xs);
  model.dispose();
  tf.dispose([xs, ys]);
  return { calls, result, kept, ids };
}

describe('augmentation per chunk of an epoch (training-loop.ts)', () => {
  const data = loadMnist('train', 300);

  it('augments every image exactly once per epoch, in whole-batch chunks, a fresh variant each epoch, reproducibly', async () => {
    // chunkImages 100 at batch 32: chunks of 96 (whole batches), so 96, 96, 96, 12 per epoch.
    const a = await recordRun(data, 5, 100);
    expect(a.calls.map((c) => c.inputs.length)).toEqual([96, 96, 96, 12, 96, 96, 96, 12]);
    const sorted = (xs: number[]) => [...xs].sort((p, q) => p - q);
    const epochImages = (e: number) => a.calls.slice(4 * e, 4 * e + 4).flatMap((c) => c.inputs);
    expect(new Set(a.ids).size).toBe(300); // the fingerprints tell the 300 images apart
    expect(sorted(epochImages(0))).toEqual(sorted(a.ids));
    expect(sorted(epochImages(1))).toEqual(sorted(a.ids));
    // Shuffled: the two epochs see the images in different orders.
    expect(epochImages(1)).not.toEqual(epochImages(0));
    // Each chunk has its own seed; each image gets another variant in epoch 2 than in epoch 1
    // (all but the few that draw no warp, jitter, noise or blur in both epochs: ~3 %).
    expect(new Set(a.calls.map((c) => c.seed)).size).toBe(8);
    const variant = (e: number) => {
      const byImage = new Map<number, Float32Array>();
      a.calls.slice(4 * e, 4 * e + 4).forEach((c) => c.inputs.forEach((id, i) => byImage.set(id, c.outputs[i]!)));
      return byImage;
    };
    const [first, second] = [variant(0), variant(1)];
    const changed = a.ids.filter((id) => {
      const [p, q] = [first.get(id)!, second.get(id)!];
      return p.some((v, k) => Math.abs(v - (q[k] ?? 0)) > 1e-4);
    }).length;
    expect(changed).toBeGreaterThan(0.9 * 300);
    // Reproducible from the run's seed: the same chunks, seeds and pixels; another seed differs.
    const again = await recordRun(data, 5, 100);
    expect(again.calls.map((c) => c.seed)).toEqual(a.calls.map((c) => c.seed));
    expect(again.calls.map((c) => c.inputs)).toEqual(a.calls.map((c) => c.inputs));
    expect(
      again.calls.every((c, k) => c.outputs.every((o, i) => o.every((v, j) => v === a.calls[k]!.outputs[i]![j]))),
    ).toBe(true);
    expect(again.result.finalLoss).toBe(a.result.finalLoss);
    const other = await recordRun(data, 6, 100);
    expect(other.calls.map((c) => c.seed)).not.toEqual(a.calls.map((c) => c.seed));
    // Nothing per chunk or per step outlives the loop (the optimizer's state and the model's weights do).
    expect(a.kept).toBeLessThanOrEqual(6 + 16);
  });

  it('a chunk smaller than a batch is rounded up to one batch; the default chunk is CHUNK_IMAGES', async () => {
    const run = await recordRun(data, 7, 10);
    expect(run.calls.slice(0, 10).map((c) => c.inputs.length)).toEqual([32, 32, 32, 32, 32, 32, 32, 32, 32, 12]);
    expect(CHUNK_IMAGES).toBe(8192);
  });

  it('keeps labels with their images across the shuffle and the chunks: it learns, and cannot with shuffled labels', async () => {
    const train = loadMnist('train', 2000);
    const test = loadMnist('test', 1000);
    const accuracyAfter = async (labels: Int32Array) => {
      const xs = imagesToTensor(train);
      const ys = tf.tensor1d(labels, 'int32');
      const model = buildClassifier(4);
      // Chunks of 192 (6 batches of 32) and a last, partial one: every chunk boundary is crossed.
      await trainLoop(model, xs, ys, {
        epochs: 3,
        batchSize: 32,
        seed: 8,
        chunkImages: 200,
        loss: sparseCrossEntropy,
        augment: (x, s) => augmentBatch(x as Tensor4D, s, V1_AUGMENTATION),
      });
      const accuracy = evaluateClassifier(model, test).accuracy;
      model.dispose();
      tf.dispose([xs, ys]);
      return accuracy;
    };
    const aligned = train.labels as Int32Array;
    // The control: the same labels, rotated by one image, are no longer the images' labels.
    const misaligned = Int32Array.from(aligned, (_, i) => aligned[(i + 1) % aligned.length] ?? 0);
    expect(await accuracyAfter(aligned)).toBeGreaterThan(0.85);
    expect(await accuracyAfter(misaligned)).toBeLessThan(0.3);
  });

  it('refuses a chunk size that is not a positive integer, by name', async () => {
    const xs = imagesToTensor(loadMnist('train', 8));
    const ys = tf.zeros([8], 'int32');
    const model = buildClassifier(1);
    for (const chunkImages of [0, -5, 1.5, Number.NaN])
      await expect(
        trainLoop(model, xs, ys, { epochs: 1, batchSize: 4, seed: 1, chunkImages, loss: sparseCrossEntropy }),
      ).rejects.toThrow(new InvalidInputError(`chunkImages must be a positive integer, got ${String(chunkImages)}`));
    model.dispose();
    tf.dispose([xs, ys]);
  });
});
