import { describe, expect, it } from '@jest/globals';
import { buildClassifier } from '../../src/ml/classifier.js';
import { InvalidInputError } from '../../src/ml/errors.js';
import { loadMnist, subset } from '../../src/ml/mnist.js';
import { imagesToTensor } from '../../src/ml/tensors.js';
import { tensorflow } from '../../src/ml/tf.js';
import { sparseCrossEntropy, trainLoop, type LoopOptions } from '../../src/ml/training-loop.js';

const tf = tensorflow();

/**
 * Trains on `count` MNIST images at batch 32 while a chain of setImmediate callbacks counts how
 * often the event loop got a turn (each tick re-arms itself, so a long synchronous stretch shows
 * up as few ticks).
 */
async function ticksDuringTraining(count: number, extra: Partial<LoopOptions>) {
  const data = subset(
    loadMnist('train'),
    Array.from({ length: count }, (_, i) => i),
  );
  const xs = imagesToTensor(data);
  const ys = tf.tensor1d(data.labels as Int32Array, 'int32');
  const model = buildClassifier(5);
  let ticks = 0;
  let running = true;
  const tick = () => {
    ticks += 1;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    await trainLoop(model, xs, ys, { epochs: 1, batchSize: 32, seed: 1, loss: sparseCrossEntropy, ...extra });
  } finally {
    running = false;
    model.dispose();
    tf.dispose([xs, ys]);
  }
  return { ticks, batches: Math.ceil(count / 32) };
}

describe('the training loop gives the event loop a turn (training-loop.ts)', () => {
  it('yields after every batch with yieldEveryMs 0', async () => {
    const { ticks, batches } = await ticksDuringTraining(640, { yieldEveryMs: 0 });
    // One turn per batch at least (the 50-batch rhythm of before gave 0 here: 20 batches).
    expect(ticks).toBeGreaterThanOrEqual(batches);
  });

  it('yields within an epoch by default (not only every 50 batches)', async () => {
    // 40 batches: fewer than 50, so the old rhythm never yielded inside this epoch; 40 training
    // steps of the BatchNorm CNN take far longer than the default 20 ms.
    const { ticks } = await ticksDuringTraining(1280, {});
    expect(ticks).toBeGreaterThanOrEqual(2);
  });

  it('refuses a bad yieldEveryMs by name', async () => {
    const xs = tf.zeros([4, 28, 28, 1]);
    const ys = tf.tensor1d([0, 1, 2, 3], 'int32');
    const model = buildClassifier(1);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      await expect(
        trainLoop(model, xs, ys, { epochs: 1, batchSize: 2, seed: 1, loss: sparseCrossEntropy, yieldEveryMs: bad }),
      ).rejects.toThrow(new InvalidInputError(`yieldEveryMs must be a number >= 0, got ${String(bad)}`));
    model.dispose();
    tf.dispose([xs, ys]);
  });
});
