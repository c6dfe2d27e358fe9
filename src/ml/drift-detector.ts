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
   * by its 95th percentile on the fitting half, so the original L2 evidence is never lost (line
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
   * reference is split in two halves: one fits the feature model, the other calibrates the
   * threshold, so the threshold is not measured on the data the model was fitted to.
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
    const half = Math.floor(reference.count / 2);
    const D = features.length / reference.count;
    const featureModel = fitFeatureModel(features.slice(0, half * D));
    const scales = {
      mahalanobis95: percentile(mahalanobisScores(features.slice(0, half * D), featureModel), 95),
      l295: percentile(errors.slice(0, half), 95),
    };
    const held = combine(mahalanobisScores(features.slice(half * D), featureModel), errors.slice(half), scales);
    return new DriftDetector(autoencoder, {
      mode: 'features',
      featureModel,
      scales,
      calibration: calibrate(held, options.thresholdPercentile),
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

function combine(
  distances: Float32Array,
  errors: Float32Array,
  scales: NonNullable<DetectorState['scales']>,
): Float32Array {
  return distances.map((d, i) => Math.max(d / scales.mahalanobis95, (errors[i] ?? 0) / scales.l295));
}
