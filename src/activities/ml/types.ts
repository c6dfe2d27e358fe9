/**
 * The contracts of the ML activities: their inputs and outputs (small JSON; images, models and
 * scores travel as knowledge-store keys). Workflows import these as types.
 */
import type { DriftPhase } from '../../ml/drift-stream.js';
import type { PickMethod } from '../../ml/picking.js';
import type { ScoreMode } from '../../ml/drift-detector.js';
import type { createMlActivities } from './ml-activities.js';

export type MlActivities = ReturnType<typeof createMlActivities>;
export type { DriftPhase, PickMethod, ScoreMode };

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
