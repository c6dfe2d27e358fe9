/**
 * Drift detection on reconstruction scores, with Alibi Detect's conventions: a threshold
 * calibrated ONCE on clean reference scores (the `thresholdPercentile`, default 95), a sample is
 * flagged when its score exceeds it, and a batch verdict comes with a p-value. No per-batch
 * normalisation (the original's bug: it made every batch look alike).
 *
 * The verdict's p-value is the KS two-sample test of the batch's scores against the reference
 * scores; the binomial test of the flagged count against the expected (100 − percentile)% is
 * reported beside it.
 */
import { binomialUpperTail, ksTwoSample, percentile } from './stats.js';
import { InvalidInputError } from './errors.js';

export interface DetectorCalibration {
  thresholdPercentile: number;
  threshold: number;
  /** A sorted sample of clean reference scores (kept for the KS test; at most 5,000). */
  referenceScores: number[];
  referenceCount: number;
}

export interface BatchVerdict {
  count: number;
  threshold: number;
  /** Indices (within the batch) of the flagged samples. */
  flagged: number[];
  shareFlagged: number;
  isDrift: boolean;
  /** KS test p-value of batch scores vs reference scores. */
  pValue: number;
  /** KS statistic (Alibi's `distance`). */
  distance: number;
  /** P(≥ flagged | no drift) under Binomial(n, 1 − percentile/100). */
  binomialPValue: number;
  pValueThreshold: number;
}

export function calibrate(referenceScores: ArrayLike<number>, thresholdPercentile = 95): DetectorCalibration {
  if (referenceScores.length < 20)
    throw new InvalidInputError(`calibration needs at least 20 clean reference scores, got ${referenceScores.length}`);
  if (!(thresholdPercentile > 0 && thresholdPercentile < 100))
    throw new InvalidInputError(`thresholdPercentile must be in (0, 100), got ${thresholdPercentile}`);
  for (const s of Array.from(referenceScores))
    if (!Number.isFinite(s)) throw new InvalidInputError('reference scores must be finite numbers');
  const sorted = Array.from(referenceScores).sort((a, b) => a - b);
  const step = Math.max(1, Math.floor(sorted.length / 5000));
  return {
    thresholdPercentile,
    threshold: percentile(sorted, thresholdPercentile),
    referenceScores: sorted.filter((_, i) => i % step === 0),
    referenceCount: sorted.length,
  };
}

export function judgeBatch(
  scores: ArrayLike<number>,
  calibration: DetectorCalibration,
  pValueThreshold = 0.05,
): BatchVerdict {
  if (scores.length === 0) throw new InvalidInputError('cannot judge an empty batch: it has no scores');
  const flagged: number[] = [];
  for (let i = 0; i < scores.length; i++) if ((scores[i] ?? 0) > calibration.threshold) flagged.push(i);
  const ks = ksTwoSample(scores, calibration.referenceScores);
  const expectedShare = 1 - calibration.thresholdPercentile / 100;
  return {
    count: scores.length,
    threshold: calibration.threshold,
    flagged,
    shareFlagged: flagged.length / scores.length,
    isDrift: ks.pValue < pValueThreshold,
    pValue: ks.pValue,
    distance: ks.statistic,
    binomialPValue: binomialUpperTail(flagged.length, scores.length, expectedShare),
    pValueThreshold,
  };
}
