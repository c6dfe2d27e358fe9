/**
 * The training workflow of the MNIST case study (batch workflow "training" in the paper): train
 * from scratch or fine-tune the production model → evaluate on the given datasets → leave the
 * new version in the registry as a `candidate`, with its metrics beside those of the production
 * version measured on the same data, so a planner can decide "IF new accuracy > current".
 * Promotion is the executor's job, not this workflow's.
 */
import { proxyActivities, ApplicationFailure } from '@temporalio/workflow';
import type { MlActivities, RetrainClassifierInput, TrainClassifierInput } from '../activities/ml/types.js';
import { trainingActivityOptions, mlStepActivityOptions } from './ml-activity-options.js';

const training = proxyActivities<MlActivities>(trainingActivityOptions);
const evaluation = proxyActivities<MlActivities>(mlStepActivityOptions);

export interface TrainingWorkflowInput {
  /** Exactly one of `train` (from scratch) or `retrain` (fine-tune production). */
  train?: TrainClassifierInput;
  retrain?: RetrainClassifierInput;
  /** Datasets to evaluate on; each accuracy is recorded under `recordAs` for the new version AND production. */
  evaluations: { data: string; recordAs: string }[];
}

export interface TrainingWorkflowResult {
  model: string;
  version: number;
  parentVersion?: number;
  metrics: Record<string, number>;
  /** The production version's metrics on the same datasets (absent when nothing is in production). */
  production?: { version: number; metrics: Record<string, number> };
}

export async function trainingWorkflow(input: TrainingWorkflowInput): Promise<TrainingWorkflowResult> {
  if (Boolean(input.train) === Boolean(input.retrain)) {
    throw ApplicationFailure.nonRetryable(
      'training workflow input needs exactly one of train or retrain',
      'InvalidInput',
    );
  }
  if (!Array.isArray(input.evaluations))
    throw ApplicationFailure.nonRetryable(
      'training workflow input.evaluations must be a list (may be empty)',
      'InvalidInput',
    );

  const trained = input.train
    ? await training.trainClassifier(input.train)
    : await training.retrainClassifier(input.retrain as RetrainClassifierInput);
  const parentVersion = 'parentVersion' in trained ? (trained.parentVersion as number) : undefined;

  const metrics: Record<string, number> = { ...trained.metrics };
  const productionMetrics: Record<string, number> = {};
  let productionVersion: number | undefined;
  for (const { data, recordAs } of input.evaluations) {
    const candidate = await evaluation.evaluateClassifier({ version: trained.version, data, recordAs });
    metrics[recordAs] = candidate.accuracy;
    // The version the candidate must beat, on the same data (retrain: its parent, which was production).
    const baseline = parentVersion ?? productionVersion;
    const current = await evaluation.evaluateClassifier({ version: baseline, data, recordAs }).catch((err: unknown) => {
      // Nothing in production yet: nothing to compare with.
      if (
        baseline === undefined &&
        err instanceof Error &&
        /no production version/.test(err.cause instanceof Error ? err.cause.message : err.message)
      )
        return undefined;
      throw err;
    });
    if (current) {
      productionVersion = current.version;
      productionMetrics[recordAs] = current.accuracy;
    }
  }
  return {
    model: trained.model,
    version: trained.version,
    parentVersion,
    metrics,
    production:
      productionVersion === undefined ? undefined : { version: productionVersion, metrics: productionMetrics },
  };
}
