/**
 * The drift detector as one object: the autoencoder, how it turns reconstructions into a score
 * ('l2' = the original's per-image L2 error; 'features' = our Mahalanobis score over the error
 * and image statistics), and the calibration made once on clean reference data. Its state is
 * JSON (`DetectorState`) stored beside the autoencoder's weights.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import type { ImageSet } from '../knowledge/types.js';
import { reconstructionScores } from './autoencoder.js';
import { calibrate, judgeBatch, type BatchVerdict, type DetectorCalibration } from './detector.js';
import { fitFeatureModel, imageFeatures, mahalanobisScores, type FeatureModel } from './drift-features.js';
import { checkImageSet } from './tensors.js';
import { InvalidInputError } from './errors.js';

export type ScoreMode = 'l2' | 'features';

export interface DetectorState {
  mode: ScoreMode;
  featureModel?: FeatureModel;
  calibration: DetectorCalibration;
}

export class DriftDetector {
  constructor(
    readonly autoencoder: LayersModel,
    readonly state: DetectorState,
  ) {
    if (state.mode === 'features' && !state.featureModel) throw new InvalidInputError("detector state with mode 'features' has no featureModel");
  }

  /**
   * Calibrates on clean reference images the autoencoder was NOT trained on. For 'features', the
   * reference is split in two halves: one fits the feature model, the other calibrates the
   * threshold, so the threshold is not measured on the data the model was fitted to.
   */
  static calibrate(autoencoder: LayersModel, reference: ImageSet, options: { mode: ScoreMode; thresholdPercentile?: number }): DriftDetector {
    checkImageSet(reference, 'reference images');
    if (options.mode === 'l2') {
      return new DriftDetector(autoencoder, { mode: 'l2', calibration: calibrate(reconstructionScores(autoencoder, reference), options.thresholdPercentile) });
    }
    if (options.mode !== 'features') throw new InvalidInputError(`score mode must be 'l2' or 'features', got ${JSON.stringify(options.mode)}`);
    const errors = reconstructionScores(autoencoder, reference);
    const features = imageFeatures(reference, errors);
    const half = Math.floor(reference.count / 2);
    const D = features.length / reference.count;
    const featureModel = fitFeatureModel(features.slice(0, half * D));
    const held = mahalanobisScores(features.slice(half * D), featureModel);
    return new DriftDetector(autoencoder, { mode: 'features', featureModel, calibration: calibrate(held, options.thresholdPercentile) });
  }

  score(images: ImageSet): Float32Array {
    checkImageSet(images, 'images to score');
    const errors = reconstructionScores(this.autoencoder, images);
    if (this.state.mode === 'l2') return errors;
    return mahalanobisScores(imageFeatures(images, errors), this.state.featureModel as FeatureModel);
  }

  judge(images: ImageSet, pValueThreshold = 0.05): { scores: Float32Array; verdict: BatchVerdict } {
    const scores = this.score(images);
    return { scores, verdict: judgeBatch(scores, this.state.calibration, pValueThreshold) };
  }
}
