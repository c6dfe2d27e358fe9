import { beforeAll, describe, expect, it } from '@jest/globals';
import type { LayersModel } from '@tensorflow/tfjs-node';
import { buildAutoencoder, reconstructionScores, trainAutoencoder } from '../../src/ml/autoencoder.js';
import { calibrate, judgeBatch } from '../../src/ml/detector.js';
import { DriftDetector } from '../../src/ml/drift-detector.js';
import { DriftStream } from '../../src/ml/drift-stream.js';
import { loadMnist, referenceAndTraffic, subset } from '../../src/ml/mnist.js';
import { auroc, binomialUpperTail, ksTwoSample, percentile } from '../../src/ml/stats.js';

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('statistics', () => {
  it('computes percentiles, KS, binomial tails and AUROC correctly on known cases', () => {
    expect(percentile([1, 2, 3, 4, 5], 50)).toBe(3);
    expect(percentile([0, 10], 95)).toBeCloseTo(9.5);
    expect(ksTwoSample([1, 2, 3], [1, 2, 3]).statistic).toBe(0);
    const far = ksTwoSample(range(0, 100), range(1000, 100));
    expect(far.statistic).toBe(1);
    expect(far.pValue).toBeLessThan(1e-10);
    expect(binomialUpperTail(0, 10, 0.5)).toBe(1);
    expect(binomialUpperTail(10, 10, 0.5)).toBeCloseTo(1 / 1024, 12);
    expect(binomialUpperTail(9, 10, 0.5)).toBeCloseTo(11 / 1024, 12);
    expect(auroc([1, 2, 3], [4, 5, 6])).toBe(1);
    expect(auroc([4, 5, 6], [1, 2, 3])).toBe(0);
    expect(auroc([1, 2], [1, 2])).toBe(0.5);
  });

  it('refuses empty batches and too-small reference sets', () => {
    const cal = calibrate(range(0, 100));
    expect(cal.threshold).toBeCloseTo(94.05);
    expect(() => judgeBatch([], cal)).toThrow(/cannot judge an empty batch/);
    expect(() => calibrate([1, 2, 3])).toThrow(/at least 20 clean reference scores, got 3/);
    expect(() => calibrate(range(0, 100), 100)).toThrow(/thresholdPercentile must be in \(0, 100\)/);
  });
});

describe('autoencoder drift detector', () => {
  let ae: LayersModel;
  // Reference = clean data like the clean production traffic: a random part of the MNIST test split
  // the stream never draws from (held-out train digits, or the test split's other half, differ
  // measurably from the traffic, and a KS test on 300 scores notices: a real shift, not drift).
  const { reference, traffic: source } = referenceAndTraffic(1, 2000);

  beforeAll(async () => {
    ae = buildAutoencoder(3);
    expect(ae.countParams()).toBe(4385);
    await trainAutoencoder(ae, loadMnist('train', 6000), { epochs: 2, seed: 3 });
  });

  it('scores per image and calibrates the threshold once, as the 95th percentile of clean scores', () => {
    const scores = reconstructionScores(ae, reference);
    expect(scores.length).toBe(2000);
    const detector = DriftDetector.calibrate(ae, reference, { mode: 'l2' });
    expect(detector.state.calibration.threshold).toBeCloseTo(percentile(scores, 95), 4);
    // On other clean data about 5% exceed it (not per-batch normalised: a clean batch stays clean).
    const { verdict } = detector.judge(subset(source, range(5000, 1000)));
    expect(verdict.shareFlagged).toBeGreaterThan(0.02);
    expect(verdict.shareFlagged).toBeLessThan(0.1);
  });

  it.each(['l2', 'features'] as const)(
    'gives a drift verdict with a p-value (%s score): clean batch no drift, drifted batch drift',
    (mode) => {
      const detector = DriftDetector.calibrate(ae, reference, { mode });
      const stream = new DriftStream(
        {
          seed: 5,
          batchSize: 300,
          source,
          schedule: [
            { fromBatch: 0, share: 0, corruptions: [] },
            { fromBatch: 1, share: 0.5, corruptions: ['fog', 'stripe', 'impulse_noise', 'zigzag'] },
          ],
        },
        0,
      );
      const clean = detector.judge(stream.next().images).verdict;
      const drifted = detector.judge(stream.next().images).verdict;
      expect(clean.pValue).toBeGreaterThan(1e-3);
      expect(clean.shareFlagged).toBeLessThan(0.1);
      // Clean batches are judged clean at about the test's 5 % level: of 40 clean batches at most 6
      // are called drift (P(≥ 7 of 40) = 1.4 % at a true 5 %). The feature score called 17 of these
      // 40 drift when only half of the reference was its KS reference; with the cross-fitted
      // calibration (drift-detector.ts) it calls 4, the l2 score 5.
      const falseAlarms = range(0, 40).filter((s) => {
        const cleanStream = new DriftStream(
          { seed: s, batchSize: 300, source, schedule: [{ fromBatch: 0, share: 0, corruptions: [] }] },
          0,
        );
        return detector.judge(cleanStream.next().images).verdict.isDrift;
      }).length;
      expect(falseAlarms).toBeLessThanOrEqual(6);
      expect(drifted.isDrift).toBe(true);
      expect(drifted.pValue).toBeLessThan(1e-6);
      expect(drifted.binomialPValue).toBeLessThan(1e-6);
      // Half the batch is corrupted; a 2-epoch autoencoder flags well over the clean 5%.
      expect(drifted.shareFlagged).toBeGreaterThan(0.3);
      expect(drifted.flagged.every((i) => Number.isInteger(i) && i >= 0 && i < 300)).toBe(true);
    },
  );

  it('rejects images of the wrong shape and an empty batch', () => {
    const detector = DriftDetector.calibrate(ae, reference, { mode: 'features' });
    expect(() => detector.score({ count: 2, height: 28, width: 28, pixels: new Float32Array(10) })).toThrow(
      /pixels has 10 values, expected count×784 = 1568/,
    );
    expect(() => detector.judge({ count: 0, height: 28, width: 28, pixels: new Float32Array(0) })).toThrow(/is empty/);
  });
});
