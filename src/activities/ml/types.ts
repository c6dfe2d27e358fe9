/**
 * The contract of the ML activities: their signatures, inputs and outputs (small JSON; images,
 * models and scores travel as knowledge-store keys). Workflows import this file as types only; it
 * imports no implementation (only types of the ML library), and the implementations
 * (training.ts, evaluation.ts, detection.ts, picking.ts, traffic-batches.ts, composed by
 * ml-activities.ts) are checked against it.
 */
import type { DriftPhase } from '../../ml/drift-stream.js';
import type { PickMethod } from '../../ml/picking.js';
import type { ScoreMode } from '../../ml/drift-detector.js';

export type { DriftPhase, PickMethod, ScoreMode };

// Object type aliases (not interfaces) so an activity set is assignable to a plain record of
// functions, as worker registration wants.

/** Classifier training: from scratch, or fine-tuned from a registered version. */
export type TrainingActivities = {
  trainClassifier(input: TrainClassifierInput): Promise<TrainedVersion>;
  retrainClassifier(input: RetrainClassifierInput): Promise<RetrainedVersion>;
};

/** Accuracy of a classifier version on a dataset, optionally recorded in the registry. */
export type EvaluationActivities = {
  evaluateClassifier(input: EvaluateInput): Promise<EvaluationResult>;
};

/** The drift detector: train and calibrate it, then score and flag batches. */
export type DetectionActivities = {
  trainDetector(input: TrainDetectorInput): Promise<TrainedDetector>;
  detectDrift(input: DetectInput): Promise<DetectionSummary>;
};

/**
 * Critical-point picking among flagged samples, confident flagged samples for pseudo-labels, a
 * random evaluation sample of the whole window, and labelling (oracle within budget, or the
 * production model's predictions).
 */
export type PickingActivities = {
  pickSamples(input: PickInput): Promise<PickResult>;
  pickConfident(input: PickConfidentInput): Promise<SampleResult>;
  sampleForEvaluation(input: EvaluationSampleInput): Promise<SampleResult>;
  labelSamples(input: LabelInput): Promise<LabelResult>;
};

/** Datasets the case study generates: batches of the drifting stream, with their truth for the oracle. */
export type TrafficBatchActivities = {
  generateTrafficBatch(input: GenerateTrafficInput): Promise<TrafficBatch>;
};

export type MlActivities = TrainingActivities &
  EvaluationActivities &
  DetectionActivities &
  PickingActivities &
  TrafficBatchActivities;

export interface TrainClassifierInput {
  /** Dataset reference (see datasets.ts); default `mnist:train`. */
  trainData?: string;
  /** Evaluated after training, recorded as metric `accuracy`; default `mnist:test`. */
  evalData?: string;
  epochs: number;
  seed: number;
  batchSize?: number;
  notes?: string;
}

export interface TrainedVersion {
  model: string;
  version: number;
  metrics: Record<string, number>;
  trainSeconds: number;
  imagesPerSecond: number;
}

export interface RetrainedVersion extends TrainedVersion {
  parentVersion: number;
  /** Labelled samples it was fine-tuned on (the replay comes on top). */
  samples: number;
}

export interface TrainedDetector extends TrainedVersion {
  threshold: number;
  mode: ScoreMode;
}

export interface RetrainClassifierInput {
  /** Version to fine-tune; default: the production version. */
  parentVersion?: number;
  /** Store keys of labelled image sets (e.g. from labelSamples). */
  labelledData: string[];
  /** Replay source; default `mnist:train`. */
  replayData?: string;
  replayRatio?: number;
  epochs?: number;
  learningRate?: number;
  seed: number;
  /** Optional: evaluate the new version here and record `accuracy` (so it can be promoted). */
  evalData?: string;
  notes?: string;
  /** Batch size of the fine-tuning; default 32. */
  batchSize?: number;
}

export interface EvaluateInput {
  /** Default: the production version. */
  version?: number;
  data: string;
  /** Record the accuracy under this metric name in the registry (e.g. `accuracy.drifted`). */
  recordAs?: string;
}

export interface EvaluationResult {
  version: number;
  data: string;
  count: number;
  accuracy: number;
  perClass: number[];
  confusion: number[][];
}

export interface TrainDetectorInput {
  /** Clean training images; default `mnist:train`. */
  trainData?: string;
  /** Clean reference images for calibration; default `case-study:reference`. */
  referenceData?: string;
  epochs: number;
  seed: number;
  /** 'features' (default, ours) or 'l2' (the original score). */
  mode?: ScoreMode;
  thresholdPercentile?: number;
  /** Adadelta learning rate; default 1.0 as Keras had it. */
  learningRate?: number;
}

export interface DetectInput {
  data: string;
  /** Default: the production detector version. */
  detectorVersion?: number;
  pValueThreshold?: number;
  /** Where to store scores and flagged indices; default `detections/<data>.json`. */
  resultKey?: string;
}

export interface DetectionSummary {
  resultKey: string;
  detectorVersion: number;
  count: number;
  flaggedCount: number;
  shareFlagged: number;
  threshold: number;
  isDrift: boolean;
  pValue: number;
  distance: number;
  binomialPValue: number;
}

export interface DetectionResult extends DetectionSummary {
  data: string;
  scores: number[];
  flagged: number[];
}

export interface PickInput {
  data: string;
  detectionKey: string;
  budget: number;
  method: PickMethod;
  seed: number;
  /** For the classifier-aware methods; default: production classifier. */
  classifierVersion?: number;
  outputKey?: string;
  /** Sample ids not to pick (e.g. set aside for evaluation). */
  exclude?: string[];
}

export interface PickConfidentInput {
  data: string;
  detectionKey: string;
  /** At most this many flagged samples, most confident first. */
  count: number;
  /** Production's confidence must reach this; default 0.9. */
  minConfidence?: number;
  /** Sample ids not to take (already picked, or set aside for evaluation). */
  exclude?: string[];
  classifierVersion?: number;
  outputKey?: string;
}

export interface EvaluationSampleInput {
  data: string;
  /** Uniform random sample of this many images of the whole window. */
  count: number;
  seed: number;
  exclude?: string[];
  /** Default `eval/stream/<data>.sfimg`. */
  outputKey?: string;
  /** Traffic batches the samples came from (for the oracle, when some are labelled later). */
  batchKeys?: string[];
}

export interface SampleResult {
  pickedKey: string;
  count: number;
  ids: string[];
  /** sampleForEvaluation: samples left out because their pixels are not the oracle's sample of their id. */
  rejected?: number;
}

export interface PickResult {
  pickedKey: string;
  count: number;
  ids: string[];
  method: PickMethod;
}

export interface LabelInput {
  pickedKey: string;
  /** Traffic batches the picked images came from (the oracle's truth is stored per batch). */
  batchKeys: string[];
  outputKey?: string;
  /** 'oracle' (default): true labels within the budget; 'model': pseudo-labels, the production classifier's predictions. */
  source?: 'oracle' | 'model';
  /** For source 'model'; default production. */
  classifierVersion?: number;
}

export interface LabelResult {
  labelledKey: string;
  count: number;
  budgetLeft: number;
  /** True labels this set cost (0 for pseudo-labels). */
  trueLabels: number;
  /** Oracle labelling: samples not labelled because their pixels are not the oracle's sample of their id. */
  rejected?: number;
}

export interface GenerateTrafficInput {
  seed: number;
  batchIndex: number;
  batchSize: number;
  schedule: DriftPhase[];
  /** Clean digits to draw from; default `case-study:traffic`. */
  source?: string;
  outputKey?: string;
}

export interface TrafficBatch {
  datasetKey: string;
  count: number;
  /** Images per kind (`clean` or a corruption name). */
  kinds: Record<string, number>;
}
