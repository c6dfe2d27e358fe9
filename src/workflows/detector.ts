/**
 * The detector workflow (the checker's "check_predictions" in the paper): score the new data with
 * the production drift detector → flag → pick critical points within the label budget → have
 * them labelled by the oracle → store them for the planner. Each step is an activity; images and
 * scores stay in the knowledge store, only keys and summaries pass through this history.
 */
import { proxyActivities, ApplicationFailure } from '@temporalio/workflow';
import type { DetectionSummary, LabelInput, MlActivities, PickInput, PickResult } from '../activities/ml/types.js';
import { mlStepActivityOptions } from './ml-activity-options.js';

const ml = proxyActivities<MlActivities>(mlStepActivityOptions);

/** The largest share of a check's window set aside for evaluation (the rest is for picking). */
const EVALUATION_MAX_SHARE = 0.5;

export interface DetectorWorkflowInput {
  /** Dataset reference of the new data (e.g. a traffic batch or collected predictions). */
  data: string;
  detectorVersion?: number;
  pValueThreshold?: number;
  /** Critical points to pick among the flagged samples (for training). */
  pick: { budget: number; method: PickInput['method']; seed: number; classifierVersion?: number };
  /**
   * When set, the picked samples are labelled from these traffic batches:
   * - `oracle` (default): true labels within the budget;
   * - `pseudo`: the production model's predictions (the paper's pseudo-labels; 0 true labels, and
   *   no evaluation sample either: it would need true labels);
   * - `mix`: true labels for the picked samples, plus up to `pseudoCount` confident flagged
   *   samples pseudo-labelled (confidence ≥ `minConfidence`).
   */
  label?: {
    batchKeys: LabelInput['batchKeys'];
    mode?: LabelMode;
    pseudoCount?: number;
    minConfidence?: number;
  };
  /**
   * A uniform random sample of the whole window set aside under eval/stream/: the planner judges
   * candidates on it (labelling, within the label budget, only the samples where candidate and
   * production disagree), retraining refuses its ids. Taken before the picking, so the two never
   * overlap. Not in pseudo mode (judging would need true labels). At most half of the window.
   */
  evaluation?: { count: number; seed: number };
}

export type LabelMode = 'oracle' | 'pseudo' | 'mix';

export interface DetectorWorkflowResult {
  detection: DetectionSummary;
  picked?: Omit<PickResult, 'ids'>;
  labelled?: { labelledKey: string; count: number; budgetLeft: number; trueLabels: number };
  pseudo?: { labelledKey: string; count: number };
  evaluation?: { poolKey: string; count: number };
}

export async function detectorWorkflow(input: DetectorWorkflowInput): Promise<DetectorWorkflowResult> {
  if (!input?.data)
    throw ApplicationFailure.nonRetryable(
      'detector workflow input.data must name the dataset to check',
      'InvalidInput',
    );
  if (!input.pick || !Number.isInteger(input.pick.budget) || input.pick.budget < 0) {
    throw ApplicationFailure.nonRetryable(
      `detector workflow input.pick.budget must be a non-negative integer, got ${JSON.stringify(input.pick?.budget)}`,
      'InvalidInput',
    );
  }
  const mode: LabelMode = input.label?.mode ?? 'oracle';
  if (!['oracle', 'pseudo', 'mix'].includes(mode))
    throw ApplicationFailure.nonRetryable(
      `detector workflow input.label.mode must be oracle, pseudo or mix, got ${JSON.stringify(mode)}`,
      'InvalidInput',
    );
  const detection = await ml.detectDrift({
    data: input.data,
    detectorVersion: input.detectorVersion,
    pValueThreshold: input.pValueThreshold,
  });
  const result: DetectorWorkflowResult = { detection };

  // Evaluation sample first (true labels: not in pseudo mode), so picking can leave it alone.
  let evaluationIds: string[] = [];
  // At most half of the window: a window smaller than twice the count (a lower prediction
  // threshold, a quiet hour) still leaves samples to pick, instead of all of it set aside.
  const evalCount =
    mode === 'pseudo' ? 0 : Math.min(input.evaluation?.count ?? 0, Math.floor(detection.count * EVALUATION_MAX_SHARE));
  if (input.label && evalCount > 0) {
    const sample = await ml.sampleForEvaluation({
      data: input.data,
      count: evalCount,
      seed: input.evaluation?.seed ?? input.pick.seed,
      batchKeys: input.label.batchKeys,
    });
    if (sample.count > 0) {
      evaluationIds = sample.ids;
      result.evaluation = { poolKey: sample.pickedKey, count: sample.count };
    }
  }
  if (detection.flaggedCount === 0 || input.pick.budget === 0) return result;

  const { ids: pickedIds, ...picked } = await ml.pickSamples({
    data: input.data,
    detectionKey: detection.resultKey,
    budget: input.pick.budget,
    method: input.pick.method,
    seed: input.pick.seed,
    classifierVersion: input.pick.classifierVersion,
    exclude: evaluationIds,
  });
  result.picked = picked;
  if (!input.label || picked.count === 0) return result;

  result.labelled = await ml.labelSamples({
    pickedKey: picked.pickedKey,
    batchKeys: input.label.batchKeys,
    source: mode === 'pseudo' ? 'model' : 'oracle',
  });
  const pseudoCount = input.label.pseudoCount ?? 0;
  if (mode === 'mix' && pseudoCount > 0) {
    const confident = await ml.pickConfident({
      data: input.data,
      detectionKey: detection.resultKey,
      count: pseudoCount,
      minConfidence: input.label.minConfidence,
      exclude: [...evaluationIds, ...pickedIds],
      classifierVersion: input.pick.classifierVersion,
    });
    if (confident.count > 0) {
      const pseudo = await ml.labelSamples({
        pickedKey: confident.pickedKey,
        batchKeys: input.label.batchKeys,
        source: 'model',
      });
      result.pseudo = { labelledKey: pseudo.labelledKey, count: pseudo.count };
    }
  }
  return result;
}
