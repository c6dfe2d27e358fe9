/**
 * The drift detector as one object: the autoencoder, how it turns reconstructions into a score
 * ('l2' = the original's per-image L2 error; 'features' = ours: the larger of a Mahalanobis
 * distance over the error + image statistics and the L2 error, each in units of its clean 95th
 * percentile), and the calibration made once on clean reference data. Its state is
 * JSON (`DetectorState`) stored beside the autoencoder's weights.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import type { ImageSet } from './types.js';
import { reconstructionScores } from './autoencoder.js';
import { calibrate, judgeBatch, type BatchVerdict, type DetectorCalibration } from './detector.js';
import { fitFeatureModel, imageFeatures, mahalanobisScores, type FeatureModel } from './drift-features.js';
import { checkImageSet } from './tensors.js';
import { percentile } from './stats.js';
import { InvalidInputError } from './errors.js';

export type ScoreMode = 'l2' | 'features';

export interface DetectorState {
  mode: ScoreMode;
  featureModel?: FeatureModel;
  /**
   * 'features' mode: the score is max(Mahalanobis / mahalanobis95, L2 error / l295), each divided
   * by its 95th percentile on the clean reference (cross-fitted distances), so the original L2 evidence is never lost (line
   * corruptions raise the error more than the 9-D distance) while blurs and shrinking, which
   * LOWER the error, are caught by the distance.
   */
  scales?: { mahalanobis95: number; l295: number };
  calibration: DetectorCalibration;
}

export class DriftDetector {
  constructor(
    readonly autoencoder: LayersModel,
    readonly state: DetectorState,
  ) {
    if (state.mode === 'features' && !(state.featureModel && state.scales))
      throw new InvalidInputError("detector state with mode 'features' needs featureModel and scales");
  }

  /**
   * Calibrates on clean reference images the autoencoder was NOT trained on. For 'features', the
   * feature model is fitted on all of the reference, and the clean scores the threshold and the
   * KS test use are cross-fitted: each of CROSS_FOLDS folds is scored by a model fitted on the
   * other folds, so every reference score is out-of-sample (as traffic is) and all of them count.
   * Before, one half fitted the model and only the other half was kept as the KS reference: with
   * 1,000 clean scores the reference's own sampling noise made the KS test reject 7 of 12 clean
   * batches of 300 (bench in test/ml/detector.test.ts); the l2 score kept all its scores.
   */
  static calibrate(
    autoencoder: LayersModel,
    reference: ImageSet,
    options: { mode: ScoreMode; thresholdPercentile?: number },
  ): DriftDetector {
    checkImageSet(reference, 'reference images');
    if (options.mode === 'l2') {
      return new DriftDetector(autoencoder, {
        mode: 'l2',
        calibration: calibrate(reconstructionScores(autoencoder, reference), options.thresholdPercentile),
      });
    }
    if (options.mode !== 'features')
      throw new InvalidInputError(`score mode must be 'l2' or 'features', got ${JSON.stringify(options.mode)}`);
    const errors = reconstructionScores(autoencoder, reference);
    const features = imageFeatures(reference, errors);
    const D = features.length / reference.count;
    const distances = crossFittedDistances(features, reference.count, D);
    const scales = { mahalanobis95: percentile(distances, 95), l295: percentile(errors, 95) };
    return new DriftDetector(autoencoder, {
      mode: 'features',
      featureModel: fitFeatureModel(features),
      scales,
      calibration: calibrate(combine(distances, errors, scales), options.thresholdPercentile),
    });
  }

  score(images: ImageSet): Float32Array {
    checkImageSet(images, 'images to score');
    const errors = reconstructionScores(this.autoencoder, images);
    if (this.state.mode === 'l2') return errors;
    const distances = mahalanobisScores(imageFeatures(images, errors), this.state.featureModel as FeatureModel);
    return combine(distances, errors, this.state.scales as NonNullable<DetectorState['scales']>);
  }

  judge(images: ImageSet, pValueThreshold = 0.05): { scores: Float32Array; verdict: BatchVerdict } {
    const scores = this.score(images);
    return { scores, verdict: judgeBatch(scores, this.state.calibration, pValueThreshold) };
  }
}

/** Folds of the cross-fitted calibration: each fold model sees 90 % of the reference, close to the final model's 100 %. */
const CROSS_FOLDS = 10;

/** Mahalanobis distance of every reference image from a feature model fitted without its fold (folds = i mod K). */
function crossFittedDistances(features: Float64Array, count: number, D: number): Float32Array {
  const folds = Math.min(CROSS_FOLDS, count);
  const out = new Float32Array(count);
  for (let k = 0; k < folds; k++) {
    const train: number[] = [];
    const held: number[] = [];
    for (let i = 0; i < count; i++) (i % folds === k ? held : train).push(i);
    const pick = (rows: number[]) => {
      const f = new Float64Array(rows.length * D);
      rows.forEach((r, j) => f.set(features.subarray(r * D, (r + 1) * D), j * D));
      return f;
    };
    const scores = mahalanobisScores(pick(held), fitFeatureModel(pick(train)));
    held.forEach((r, j) => (out[r] = scores[j] ?? 0));
  }
  return out;
}

function combine(
  distances: Float32Array,
  errors: Float32Array,
  scales: NonNullable<DetectorState['scales']>,
): Float32Array {
  return distances.map((d, i) => Math.max(d / scales.mahalanobis95, (errors[i] ?? 0) / scales.l295));
}
