import { describe, expect, it } from '@jest/globals';
import {
  buildClassifier,
  evaluateClassifier,
  fineTuneClassifier,
  predict,
  trainClassifier,
} from '../../src/ml/classifier.js';
import { loadMnist, subset } from '../../src/ml/mnist.js';
import { corruptImageSet } from '../../src/ml/mnist-c.js';

// A reduced run (6,000 images, 2 epochs) so CI stays fast; bench/ml.ts trains on all 60,000.
const train = loadMnist('train', 6000);
const test = loadMnist('test', 2000);

describe('MNIST classifier on native TensorFlow', () => {
  const model = buildClassifier(7);

  it('trains to ≥ 94% on the MNIST test set from a reduced run, with per-class accuracy and a confusion matrix', async () => {
    const epochs: number[] = [];
    // Batch 32 on the reduced set (the default 128 is for the full 60,000: 94 steps are too few here).
    const result = await trainClassifier(model, train, {
      epochs: 2,
      seed: 7,
      batchSize: 32,
      onEpoch: (e) => void epochs.push(e),
    });
    expect(epochs).toEqual([0, 1]);
    expect(result.samples).toBe(6000);
    const evaluation = evaluateClassifier(model, test);
    expect(evaluation.accuracy).toBeGreaterThanOrEqual(0.94);
    expect(evaluation.perClass).toHaveLength(10);
    expect(evaluation.perClass.every((a) => a > 0.8)).toBe(true);
    expect(evaluation.confusion.flat().reduce((a, b) => a + b, 0)).toBe(2000);
    const diagonal = evaluation.confusion.reduce((s, row, i) => s + (row[i] ?? 0), 0);
    expect(diagonal / 2000).toBeCloseTo(evaluation.accuracy, 10);
  });

  it('fine-tunes on newly labelled drifted samples plus replay: better on the drift, still good on clean', async () => {
    // Stripe inverts the borders: the clean model is lost on it.
    const pool = subset(
      loadMnist('train'),
      Array.from({ length: 400 }, (_, i) => 20000 + i),
    );
    const labelled = corruptImageSet(pool, 'stripe', 11);
    const heldOut = corruptImageSet(test, 'stripe', 12);
    const before = evaluateClassifier(model, heldOut).accuracy;
    const cleanBefore = evaluateClassifier(model, test).accuracy;
    await fineTuneClassifier(model, labelled, train, { seed: 3, epochs: 4 });
    const after = evaluateClassifier(model, heldOut).accuracy;
    const cleanAfter = evaluateClassifier(model, test).accuracy;
    expect(after).toBeGreaterThan(before + 0.1);
    expect(cleanAfter).toBeGreaterThan(cleanBefore - 0.03);
  });

  it('rejects wrong shapes, dtypes, empty and unlabelled data with clear errors', async () => {
    expect(() => predict(model, { count: 1, height: 32, width: 32, pixels: new Float32Array(1024) })).toThrow(
      /must be 28×28 images, got 32×32/,
    );
    expect(() =>
      predict(model, { count: 1, height: 28, width: 28, pixels: new Uint8Array(784) as unknown as Float32Array }),
    ).toThrow(/pixels must be a Float32Array .* got Uint8Array/);
    expect(() => predict(model, { count: 0, height: 28, width: 28, pixels: new Float32Array(0) })).toThrow(
      /is empty \(count 0\)/,
    );
    expect(() => evaluateClassifier(model, { count: 1, height: 28, width: 28, pixels: new Float32Array(784) })).toThrow(
      /evaluation data has no labels/,
    );
    await expect(
      trainClassifier(model, { ...subset(train, [0]), labels: Int32Array.from([12]) }, { epochs: 1, seed: 1 }),
    ).rejects.toThrow(/label 12 outside 0\.\.9/);
  });
});
