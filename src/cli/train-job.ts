/**
 * The container of a training Job (src/activities/platform/training-job.ts creates it): runs one
 * classifier training of the ML worker, trainClassifier or retrainClassifier of
 * src/activities/ml/training.ts (the same functions the ML worker runs, not a copy), in a pod of
 * its own, so its CPU and memory are the Job's requests and limits rather than a share of the
 * machine the model server runs on.
 *
 *   IMAGE script src/cli/train-job.ts --store s3://bucket[/prefix] --model mnist-classifier \
 *     --idempotency-key <workflowId>/<runId>/<activityId> --run-id <id> --kind train|retrain --input '<JSON>'
 *
 * The store's endpoint and keys come from the environment as for the model server
 * (SCANFLOW_S3_ENDPOINT, SCANFLOW_S3_ACCESS_KEY, SCANFLOW_S3_SECRET_KEY: see serving/store-config.ts).
 * The version is registered with the activity's idempotency key, so a Job created again for the
 * same activity execution gets back the version the first one registered, never a second. The
 * result goes to the store (training-job-contract.ts trainingRecordKey); a failure goes to
 * /dev/termination-log as JSON (type, message, retryable or not), which the activity reads from the
 * pod's status, and the process exits 1.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import {
  trainingRecordKey,
  type TrainingJobError,
  type TrainingJobRecord,
  type TrainingRun,
} from '../activities/platform/training-job-contract.js';
import { createMlModels } from '../activities/ml/models.js';
import { createTrainingActivities } from '../activities/ml/training.js';
import { ModelRegistry } from '../knowledge/model-registry.js';
import { openKnowledgeStore } from '../knowledge/open-store.js';
import type { KnowledgeStore, ModelVersionRecord, RegisterVersionInput } from '../knowledge/types.js';
import { parseStoreArgument } from '../serving/store-config.js';

const TERMINATION_LOG = '/dev/termination-log';

/** Registers every version with the activity's idempotency key (outside an activity, training.ts has none). */
class KeyedRegistry extends ModelRegistry {
  constructor(
    store: KnowledgeStore,
    model: string,
    private readonly idempotencyKey: string,
  ) {
    super(store, model);
  }
  override register(input: RegisterVersionInput): Promise<ModelVersionRecord> {
    return super.register({ ...input, idempotencyKey: this.idempotencyKey });
  }
}

function parse(argv: string[]): { store: string; model: string; key: string; runId: string; run: TrainingRun } {
  const { values } = parseArgs({
    args: argv,
    options: {
      store: { type: 'string' },
      model: { type: 'string', default: 'mnist-classifier' },
      'idempotency-key': { type: 'string' },
      'run-id': { type: 'string' },
      kind: { type: 'string' },
      input: { type: 'string' },
    },
    strict: true,
  });
  for (const flag of ['store', 'idempotency-key', 'run-id', 'kind', 'input'] as const)
    if (!values[flag]) throw new Error(`train-job: --${flag} is required`);
  const kind = values.kind;
  if (kind !== 'train' && kind !== 'retrain')
    throw new Error(`train-job: --kind must be train or retrain, got ${JSON.stringify(kind)}`);
  let input: unknown;
  try {
    input = JSON.parse(values.input!);
  } catch (err) {
    throw new Error(`train-job: --input is not JSON: ${(err as Error).message}`);
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new Error('train-job: --input must be a JSON object (the activity input)');
  return {
    store: values.store!,
    model: values.model!,
    key: values['idempotency-key']!,
    runId: values['run-id']!,
    run: { kind, input } as TrainingRun,
  };
}

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  const store = openKnowledgeStore(parseStoreArgument(a.store));
  const models = createMlModels({ store, classifierModel: a.model });
  const training = createTrainingActivities({
    ...models,
    classifiers: new KeyedRegistry(store, a.model, a.key),
  });
  const started = Date.now();
  const result =
    a.run.kind === 'train'
      ? await training.trainClassifier(a.run.input)
      : await training.retrainClassifier(a.run.input);
  const record: TrainingJobRecord = {
    idempotencyKey: a.key,
    kind: a.run.kind,
    result,
    finishedAt: new Date().toISOString(),
  };
  await store.putJson(trainingRecordKey(a.runId), record);
  console.log(
    JSON.stringify({ event: 'trained', ...result, wallSeconds: Math.round((Date.now() - started) / 100) / 10 }),
  );
}

function report(err: unknown): TrainingJobError {
  if (err instanceof ApplicationFailure)
    return { type: err.type ?? 'Error', message: err.message, nonRetryable: err.nonRetryable === true };
  const e = err instanceof Error ? err : new Error(String(err));
  // A bad command line will not get better on a retry; a store or network failure may.
  const nonRetryable = e.message.startsWith('train-job:');
  return { type: nonRetryable ? 'InvalidInput' : e.name, message: e.message, nonRetryable };
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    const failure = report(err);
    console.error(`[train-job] ${failure.type}: ${failure.message}`);
    try {
      // 4 KiB is what Kubernetes keeps of a termination message.
      writeFileSync(TERMINATION_LOG, JSON.stringify({ ...failure, message: failure.message.slice(0, 3_500) }));
    } catch {
      // Not in a pod (run by hand): stderr said it.
    }
    process.exit(1);
  },
);
