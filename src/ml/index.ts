// The ML library (plain code, used by activities, the serving process and benchmarks). It imports
// nothing else of Scanflow: the knowledge base and the activities sit above it.
export type { ImageSet } from './types.js';
export { tensorflow, libtensorflowVersion } from './tf.js';
export { InvalidInputError } from './errors.js';
export { Rng } from './random.js';
export { parseIdx, type IdxArray } from './idx.js';
export {
  loadMnist,
  subset,
  concatImageSets,
  referenceAndTraffic,
  referenceAndTrafficIndices,
  mnistDataDirectory,
  type MnistSplit,
} from './mnist.js';
export { CORRUPTIONS, corruptImage, isCorruptionName, type CorruptionName } from './corruptions.js';
export { corruptImageSet, imageSeed } from './mnist-c.js';
export {
  DriftStream,
  LabelOracle,
  validateSchedule,
  type DriftPhase,
  type DriftStreamOptions,
  type StreamBatch,
} from './drift-stream.js';
export { imagesToTensor, checkImageSet } from './tensors.js';
export {
  buildClassifier,
  trainClassifier,
  evaluateClassifier,
  fineTuneClassifier,
  predict,
  type Evaluation,
  type Predictions,
  type TrainResult,
} from './classifier.js';
export { buildAutoencoder, trainAutoencoder, reconstructionScores } from './autoencoder.js';
export { calibrate, judgeBatch, type BatchVerdict, type DetectorCalibration } from './detector.js';
export { DriftDetector, type DetectorState, type ScoreMode } from './drift-detector.js';
export { PICK_METHODS, pickCriticalPoints, type PickMethod } from './picking.js';
export { auroc, ksTwoSample, binomialUpperTail, percentile } from './stats.js';
export { trainLoop, sparseCrossEntropy, meanSquaredError, type LoopOptions, type LoopResult } from './training-loop.js';
export {
  comparePaired,
  compareDiscordant,
  decidePromotion,
  type PairedComparison,
  type PromotionRule,
  type PromotionVerdict,
} from './promotion.js';
