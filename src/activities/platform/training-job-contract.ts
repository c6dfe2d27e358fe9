/**
 * What the training activity (training-job.ts) and the container of its Job (src/cli/train-job.ts)
 * agree on: the command line, where the result goes, and how a failure is reported. Kept in one
 * place so the two sides cannot drift apart.
 */
import type { RetrainClassifierInput, RetrainedVersion, TrainClassifierInput, TrainedVersion } from '../ml/types.js';

/** The image's entry for a training run (deploy/image/entrypoint.mjs `script FILE.ts`). */
export const TRAINING_JOB_ENTRY = ['script', 'src/cli/train-job.ts'];

export type TrainingRun =
  { kind: 'train'; input: TrainClassifierInput } | { kind: 'retrain'; input: RetrainClassifierInput };

export type TrainingResult = TrainedVersion | RetrainedVersion;

/** Written by the container once the version is registered; read back by the activity. */
export interface TrainingJobRecord {
  idempotencyKey: string;
  kind: TrainingRun['kind'];
  result: TrainingResult;
  finishedAt: string;
}

/** The store key of a run's record (one per activity execution: the run id hashes its idempotency key). */
export const trainingRecordKey = (runId: string): string => `training-jobs/${runId}.json`;

/** The container's termination message on failure (at most 4 KiB: Kubernetes truncates beyond). */
export interface TrainingJobError {
  type: string;
  message: string;
  nonRetryable: boolean;
}

/** The container's arguments after the entry. */
export function trainingJobArgs(a: {
  store: string;
  model: string;
  idempotencyKey: string;
  runId: string;
  run: TrainingRun;
}): string[] {
  return [
    '--store',
    a.store,
    '--model',
    a.model,
    '--idempotency-key',
    a.idempotencyKey,
    '--run-id',
    a.runId,
    '--kind',
    a.run.kind,
    '--input',
    JSON.stringify(a.run.input),
  ];
}
