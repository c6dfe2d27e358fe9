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

export interface DetectorWorkflowInput {
  /** Dataset reference of the new data (e.g. a traffic batch or collected predictions). */
  data: string;
  detectorVersion?: number;
  pValueThreshold?: number;
  pick: { budget: number; method: PickInput['method']; seed: number; classifierVersion?: number };
  /** When set, the picked samples are labelled by the oracle from these traffic batches. */
  label?: { batchKeys: LabelInput['batchKeys'] };
}

export interface DetectorWorkflowResult {
  detection: DetectionSummary;
  picked?: Omit<PickResult, 'ids'>;
  labelled?: { labelledKey: string; count: number; budgetLeft: number };
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
  const detection = await ml.detectDrift({
    data: input.data,
    detectorVersion: input.detectorVersion,
    pValueThreshold: input.pValueThreshold,
  });
  if (detection.flaggedCount === 0 || input.pick.budget === 0) return { detection };

  const { ids: _ids, ...picked } = await ml.pickSamples({
    data: input.data,
    detectionKey: detection.resultKey,
    budget: input.pick.budget,
    method: input.pick.method,
    seed: input.pick.seed,
    classifierVersion: input.pick.classifierVersion,
  });
  if (!input.label || picked.count === 0) return { detection, picked };

  const labelled = await ml.labelSamples({ pickedKey: picked.pickedKey, batchKeys: input.label.batchKeys });
  return { detection, picked, labelled };
}
