import { describe, expect, it } from '@jest/globals';
import { tensorflow } from '../../src/ml/tf.js';
import { buildClassifier } from '../../src/ml/classifier.js';
import { loadMnist } from '../../src/ml/mnist.js';
import { sparseCrossEntropy, trainLoop } from '../../src/ml/training-loop.js';

const tf = tensorflow();
type T4 = import('@tensorflow/tfjs-node').Tensor4D;

/** TensorFlow's own MaxPoolGrad kernel: what the fast gradient replaces. */
function referencePoolGrad(x: T4, dy: T4, pad: 'valid' | 'same'): Float32Array {
  const y = tf.maxPool(x, 2, 2, pad);
  const g = tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, { filterSize: 2, strides: 2, pad }) as T4;
  const out = g.dataSync() as Float32Array;
  tf.dispose([y, g]);
  return out;
}

describe('native fast paths for training (fast-kernels.ts)', () => {
  it.each([
    ['valid, even (26→13)', [3, 26, 26, 4], 'valid'],
    ['valid, odd (11→5: last row and column dropped)', [3, 11, 11, 4], 'valid'],
    ['same, even (28→14)', [2, 28, 28, 3], 'same'],
    ['same, odd (7→4: falls back to TensorFlow)', [2, 7, 7, 3], 'same'],
  ] as const)('max-pool gradient equals TensorFlow MaxPoolGrad: %s', (_name, shape, pad) => {
    const x = tf.randomUniform([...shape], -1, 1, 'float32', 3) as T4; // no ties
    const y = tf.maxPool(x, 2, 2, pad);
    const dy = tf.randomUniform(y.shape, -1, 1, 'float32', 4) as T4;
    const ours = tf.grad((a) => tf.sum(tf.mul(tf.maxPool(a as T4, 2, 2, pad), dy)))(x);
    const expected = referencePoolGrad(x, dy, pad);
    const got = ours.dataSync();
    expect(got.length).toBe(expected.length);
    let maxDiff = 0;
    for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs((got[i] ?? 0) - (expected[i] ?? 0)));
    expect(maxDiff).toBeLessThan(1e-6);
    tf.dispose([x, y, dy, ours]);
  });

  it('step keeps tfjs semantics (1 above 0, 0 at and below, NaN stays NaN, alpha honoured)', () => {
    const x = tf.tensor1d([-2, 0, 0.5, NaN, 3]);
    expect(Array.from(tf.step(x).dataSync())).toEqual([0, 0, 1, NaN, 1]);
    expect(Array.from(tf.step(x, 0.1).dataSync()).map((v) => (Number.isNaN(v) ? v : Number(v.toFixed(5))))).toEqual([
      0.1,
      0.1,
      1,
      NaN,
      1,
    ]);
    const g = tf.grad((a) => tf.sum(tf.mul(tf.relu(a), tf.tensor1d([1, 2, 3, 4, 5]))))(tf.tensor1d([-1, 0, 2, -3, 4]));
    expect(Array.from(g.dataSync())).toEqual([0, 0, 3, 0, 5]);
  });

  it('the training loop is reproducible, keeps no tensors, and learns', async () => {
    const data = loadMnist('train', 1024);
    const xs = tf.tensor4d(data.pixels, [1024, 28, 28, 1]);
    const ys = tf.tensor1d(data.labels as Int32Array, 'int32');
    const run = async () => {
      const model = buildClassifier(5);
      const before = tf.memory().numTensors;
      const result = await trainLoop(model, xs, ys, { epochs: 2, batchSize: 64, seed: 9, loss: sparseCrossEntropy });
      const weights = model.getWeights().map((w) => Array.from(w.dataSync().slice(0, 20)));
      model.dispose();
      return { result, weights, kept: tf.memory().numTensors - before };
    };
    const a = await run();
    const b = await run();
    expect(a.weights).toEqual(b.weights);
    expect(a.result.finalLoss).toBe(b.result.finalLoss);
    expect(a.result.finalLoss).toBeLessThan(1.0);
    // The optimizer's state (2 moments + 4 constants) outlives the loop with the model's optimizer; nothing per step does.
    expect(a.kept).toBeLessThanOrEqual(6 + 16 /* model weights, disposed later */);
    tf.dispose([xs, ys]);
  });
});
