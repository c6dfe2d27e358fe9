/**
 * Classifier training as a Kubernetes Job with CPU and memory requests and limits, so a retrain
 * takes the CPU share its limits allow and no more from the model-server pods beside it (the ML
 * worker's in-process training shares its machine with whatever runs there). The Job's container
 * is the project's image running src/cli/train-job.ts, which calls the ML worker's own training
 * functions (src/activities/ml/training.ts) on the knowledge base and registers the candidate as
 * the in-worker activity does.
 *
 * Idempotent per activity execution: the Job's run id hashes the activity's idempotency key
 * (workflow id, run id, activity id), so a retried attempt finds the Job the first one created
 * (or, once it finished, its record in the store) instead of creating a second; the version is
 * registered with that same key, so even a Job created again cannot add a second version.
 * While it waits the activity heartbeats the Job's status; cancelled, it deletes the Job. A failed
 * Job is a named failure: TrainingJobOOMKilled (over its memory limit), TrainingJobDeadlineExceeded,
 * a pod that cannot start (TrainingJobErrImageNeverPull, …), or the training's own error type
 * (InvalidInput, NotFound, …) as the container reported it. The Job is deleted once it ended.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { KnowledgeStore, KnowledgeStoreConfig } from '../../knowledge/types.js';
import { storeForService } from '../../serving/store-config.js';
import type { AffinitySpec, ExecutorSpec, ResourceSpec, SecretKeyRef, WorkflowRef } from '../../platform/types.js';
import { FATAL_WAITING, OneOffJobs, type JobRunStatus } from '../../platform/kubernetes/one-off-job.js';
import { activityIdempotencyKey } from '../ml/idempotency.js';
import type { RetrainClassifierInput, RetrainedVersion, TrainClassifierInput, TrainedVersion } from '../ml/types.js';
import { beat, keepBeating } from '../support.js';
import {
  TRAINING_JOB_ENTRY,
  trainingJobArgs,
  trainingRecordKey,
  type TrainingJobError,
  type TrainingJobRecord,
  type TrainingResult,
  type TrainingRun,
} from './training-job-contract.js';

/** How the Job runs: every field can be set per call, over the worker's defaults. */
export interface TrainingJobSettings {
  /** The project's image (it has the entry point below). */
  image: string;
  /** Default TRAINING_JOB_ENTRY (`script src/cli/train-job.ts`). */
  entry?: string[];
  /** CPU / memory requests and limits of the training container. */
  resources?: ResourceSpec;
  affinity?: AffinitySpec;
  /** Job activeDeadlineSeconds: the run is killed (TrainingJobDeadlineExceeded) after this long. */
  timeoutSeconds?: number;
  /** Classifier registry name (default mnist-classifier). */
  model?: string;
  /** Labels of the Job: app (default mnist) and workflow `training`. */
  app?: string;
}

/** The knowledge base as the Job's pod reaches it: the --store argument, plain env and Secret references. */
export interface PodStore {
  arg: string;
  env?: Record<string, string>;
  secretEnv?: Record<string, SecretKeyRef>;
}

export interface TrainingJobDeps {
  jobs: OneOffJobs;
  /** The same knowledge base as `podStore`, as this worker reaches it (the Job's record is read here). */
  store: KnowledgeStore;
  podStore: PodStore;
  defaults?: Partial<TrainingJobSettings>;
  /** Status poll period (default 1 s). */
  pollMs?: number;
}

export interface TrainingJobActivities {
  trainClassifierInJob(a: { train: TrainClassifierInput; job?: Partial<TrainingJobSettings> }): Promise<TrainedVersion>;
  retrainClassifierInJob(a: {
    retrain: RetrainClassifierInput;
    job?: Partial<TrainingJobSettings>;
  }): Promise<RetrainedVersion>;
}

/** The Job's run id: a DNS label of at most 20 characters derived from the idempotency key. */
export function trainingRunId(idempotencyKey: string): string {
  return `t${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 16)}`;
}

export function createTrainingJobActivities(deps: TrainingJobDeps): TrainingJobActivities {
  const run = async (what: TrainingRun, overrides: Partial<TrainingJobSettings> | undefined) =>
    runTrainingJob(deps, what, { ...deps.defaults, ...overrides });
  return {
    async trainClassifierInJob(a) {
      return (await run({ kind: 'train', input: a?.train }, a?.job)) as TrainedVersion;
    },
    async retrainClassifierInJob(a) {
      return (await run({ kind: 'retrain', input: a?.retrain }, a?.job)) as RetrainedVersion;
    },
  };
}

/**
 * The same two activities under the ML worker's names and signatures (trainClassifier,
 * retrainClassifier), so the training workflow runs its training step as a Job unchanged: a
 * worker registers these on its ML task queue in place of the in-process ones.
 */
export function trainingJobsAsMlActivities(jobs: TrainingJobActivities) {
  return {
    trainClassifier: (input: TrainClassifierInput) => jobs.trainClassifierInJob({ train: input }),
    retrainClassifier: (input: RetrainClassifierInput) => jobs.retrainClassifierInJob({ retrain: input }),
  };
}

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

async function runTrainingJob(
  deps: TrainingJobDeps,
  what: TrainingRun,
  settings: Partial<TrainingJobSettings>,
): Promise<TrainingResult> {
  if (typeof what.input !== 'object' || what.input === null)
    throw ApplicationFailure.nonRetryable(
      `${what.kind}ClassifierInJob: ${what.kind} must be the ${what.kind === 'train' ? 'TrainClassifierInput' : 'RetrainClassifierInput'} object`,
      'InvalidInput',
    );
  if (!settings.image)
    throw ApplicationFailure.nonRetryable(
      `${what.kind}ClassifierInJob: job.image is required (the project's image; no default was configured)`,
      'InvalidInput',
    );
  // Outside an activity (a script) there is no retry to recognise: a key of its own.
  const idempotencyKey = activityIdempotencyKey() ?? `adhoc/${randomUUID()}`;
  const runId = trainingRunId(idempotencyKey);
  const ref: WorkflowRef = { app: settings.app ?? 'mnist', workflow: 'training' };
  const executor: ExecutorSpec = {
    name: what.kind,
    image: settings.image,
    args: [
      ...(settings.entry ?? TRAINING_JOB_ENTRY),
      ...trainingJobArgs({
        store: deps.podStore.arg,
        model: settings.model ?? 'mnist-classifier',
        idempotencyKey,
        runId,
        run: what,
      }),
    ],
    env: {
      ...deps.podStore.env,
      TF_CPP_MIN_LOG_LEVEL: '2',
      // The pod's cgroup (its requests and limits) is what keeps serving fed here; nice would only
      // rank the training's own threads inside it.
      SCANFLOW_TRAINING_NICE: '0',
    },
    ...(deps.podStore.secretEnv ? { secretEnv: deps.podStore.secretEnv } : {}),
    ...(settings.resources ? { resources: settings.resources } : {}),
    ...(settings.affinity ? { affinity: settings.affinity } : {}),
    ...(settings.timeoutSeconds ? { timeoutSeconds: settings.timeoutSeconds } : {}),
    backoffLimit: 0,
  };
  const job = deps.jobs.check(ref, runId, executor);

  // An earlier attempt's Job finished (and was removed) but its completion never reached Temporal.
  const done = await readRecord(deps.store, runId, idempotencyKey);
  if (done) {
    await deps.jobs.remove(ref, runId, executor.name);
    return done.result;
  }
  const signal = currentContext()?.cancellationSignal;
  let status: JobRunStatus;
  try {
    // Beats every second with the latest status (cancellation reaches an activity only through a
    // heartbeat), not only when the status changes.
    status = await keepBeating(() =>
      deps.jobs.run(ref, runId, executor, {
        pollMs: deps.pollMs,
        signal,
        onProgress: (s) => beat({ job, phase: s.phase, pods: s.pods, ...(s.waiting ? { waiting: s.waiting } : {}) }),
      }),
    );
  } catch (err) {
    // Cancelled (or the worker is shutting down): the Job must not train on for nobody.
    if (signal?.aborted) await deps.jobs.remove(ref, runId, executor.name);
    throw err;
  }
  if (status.phase === 'Failed') {
    await deps.jobs.remove(ref, runId, executor.name);
    throw jobFailure(job, status, executor);
  }
  const record = await readRecord(deps.store, runId, idempotencyKey);
  await deps.jobs.remove(ref, runId, executor.name);
  if (!record)
    throw ApplicationFailure.nonRetryable(
      `training Job ${job} succeeded but wrote no record at ${trainingRecordKey(runId)} in ${deps.store.location}: is the pod's --store (${deps.podStore.arg}) the worker's knowledge base?`,
      'TrainingJobNoResult',
    );
  return record.result;
}

async function readRecord(store: KnowledgeStore, runId: string, key: string): Promise<TrainingJobRecord | undefined> {
  const at = trainingRecordKey(runId);
  if (!(await store.exists(at))) return undefined;
  const record = await store.getJson<TrainingJobRecord>(at);
  // A hash collision between two executions is astronomically unlikely; a record is still checked.
  return record.idempotencyKey === key ? record : undefined;
}

/** The failure of a Job as a named ApplicationFailure saying what to change. */
export function jobFailure(job: string, s: JobRunStatus, e: ExecutorSpec): ApplicationFailure {
  const reason = s.reason ?? 'Failed';
  const limits = e.resources?.limits ?? {};
  if (reason === 'OOMKilled')
    return ApplicationFailure.nonRetryable(
      `training Job ${job} was OOMKilled: the training went over its memory limit (${limits.memory ?? 'none set'}); raise the Job's memory limit`,
      'TrainingJobOOMKilled',
      { job, reason, limits },
    );
  const reported = parseTermination(s.terminationMessage);
  if (reported)
    return ApplicationFailure.create({
      message: `training Job ${job}: ${reported.message}`,
      type: reported.type,
      nonRetryable: reported.nonRetryable,
      details: [{ job, reason }],
    });
  // A deadline or a pod that cannot start fails again with the same spec; anything else (a node
  // lost, a crash) may not: a retry creates the Job again, and the registry's idempotency key
  // still keeps it to one version.
  return ApplicationFailure.create({
    message: `training Job ${job} failed: ${reason}${s.message ? ` (${s.message})` : ''}${s.exitCode !== undefined ? `, exit code ${s.exitCode}` : ''}`,
    type: `TrainingJob${reason.replace(/[^A-Za-z0-9]/g, '')}`,
    nonRetryable: reason === 'DeadlineExceeded' || FATAL_WAITING.has(reason),
    details: [{ job, reason, limits }],
  });
}

function parseTermination(text: string | undefined): TrainingJobError | undefined {
  if (!text) return undefined;
  try {
    const e = JSON.parse(text) as Partial<TrainingJobError>;
    if (typeof e.type === 'string' && typeof e.message === 'string')
      return { type: e.type, message: e.message, nonRetryable: e.nonRetryable === true };
  } catch {
    // Not ours (a runtime's message): reported as the Job's reason instead.
  }
  return undefined;
}

/** The cluster and knowledge base of a platform worker (workers/roles.ts). */
export interface KubernetesTrainingJobOptions {
  kubeconfigPath?: string;
  namespace: string;
  store: KnowledgeStore;
  /** The worker's knowledge base; pods reach the same one, keys from the Secret scanflow-s3. */
  storeConfig: KnowledgeStoreConfig;
  env?: NodeJS.ProcessEnv;
}

/**
 * The activities for a platform worker, with defaults from its environment:
 * SCANFLOW_TRAINING_JOB_IMAGE (else each call names job.image), SCANFLOW_TRAINING_JOB_CPU (limit,
 * default 500m), SCANFLOW_TRAINING_JOB_MEMORY (request = limit, default 1536Mi).
 */
export function kubernetesTrainingJobActivities(o: KubernetesTrainingJobOptions): TrainingJobActivities {
  const env = o.env ?? process.env;
  return createTrainingJobActivities({
    jobs: OneOffJobs.connect({ kubeconfigPath: o.kubeconfigPath, namespace: o.namespace }),
    store: o.store,
    podStore: storeForService(o.storeConfig),
    defaults: {
      ...(env.SCANFLOW_TRAINING_JOB_IMAGE ? { image: env.SCANFLOW_TRAINING_JOB_IMAGE } : {}),
      resources: trainingJobResources({
        cpu: env.SCANFLOW_TRAINING_JOB_CPU || undefined,
        memory: env.SCANFLOW_TRAINING_JOB_MEMORY || undefined,
      }),
    },
  });
}

/**
 * Requests and limits of a training Job from a CPU limit and a memory size: a small CPU request
 * (the training's weight under contention stays low) under the CPU limit (its ceiling), and
 * memory requested as much as the limit (the scheduler places it where that memory is free). A CPU
 * limit of `none` leaves the CPU unlimited (the training then takes whatever its weight gives it).
 */
export function trainingJobResources(o: { cpu?: string; memory?: string; cpuRequest?: string }): ResourceSpec {
  const cpu = o.cpu ?? '500m';
  const memory = o.memory ?? '1536Mi';
  return {
    requests: { cpu: o.cpuRequest ?? '100m', memory },
    limits: { ...(cpu === 'none' ? {} : { cpu }), memory },
  };
}
