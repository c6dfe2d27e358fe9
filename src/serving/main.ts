/**
 * The model-server process: `npx tsx src/serving/main.ts --store <store> --model mnist --port 8080`.
 * Used by the local platform (one process per replica) and as the container command on Kubernetes.
 *
 * Options (flags win over the SCANFLOW_SERVING_* environment variables named in brackets):
 *   --store <dir | file:///dir | s3://bucket/prefix | JSON>   knowledge store [SCANFLOW_STORE] (required)
 *   --model <name>             registry model name, also the served name [SCANFLOW_MODEL] (required)
 *   --port <n>                 0 = any free port (default 8080) [SCANFLOW_SERVING_PORT]
 *   --host <addr>              default 127.0.0.1; 0.0.0.0 in a container [SCANFLOW_SERVING_HOST]
 *   --version <n|production|none>   version to serve at start (default production) [SCANFLOW_MODEL_VERSION]
 *   --max-batch <n> --max-wait-ms <ms> --batch-wait <arrivals|fixed> | --no-batching
 *                              dynamic batching (default 256 images, 2 ms, arrivals: see batcher.ts)
 *   --poll-ms <ms>             follow the registry's production version (0 = off, default)
 *   --log-batch <n> --log-flush-ms <ms>                        prediction log batching (default 200 / 2000 ms)
 *   --no-log | --no-log-pixels                                 no prediction log / records without pixels
 *   --replica <id>             distinguishes replicas in the prediction log keys [SCANFLOW_REPLICA]
 * Prints one JSON line {"event":"listening","port":N,...} once it serves; SIGTERM/SIGINT drain and exit 0.
 */
import { parseArgs } from 'node:util';
import { BatchedPredictionLogWriter } from '../knowledge/prediction-log.js';
import { ModelRegistry } from '../knowledge/model-registry.js';
import { openKnowledgeStore } from '../knowledge/open-store.js';
import type { BatchWaitPolicy } from './batcher.js';
import { registryModelSource } from './model-source.js';
import { ModelServer } from './server.js';
import { parseStoreArgument } from './store-config.js';

function positiveInt(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

function batchWait(value: string | undefined): BatchWaitPolicy {
  if (value === 'arrivals' || value === 'fixed') return value;
  throw new Error(`--batch-wait must be "arrivals" or "fixed", got ${JSON.stringify(value)}`);
}

function parseVersion(value: string): number | 'production' | 'none' {
  if (value === 'production' || value === 'none') return value;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--version must be a positive integer, "production" or "none", got ${JSON.stringify(value)}`);
  return n;
}

async function run(): Promise<void> {
  const env = process.env;
  const { values } = parseArgs({
    options: {
      store: { type: 'string', default: env.SCANFLOW_STORE },
      model: { type: 'string', default: env.SCANFLOW_MODEL },
      port: { type: 'string', default: env.SCANFLOW_SERVING_PORT ?? '8080' },
      host: { type: 'string', default: env.SCANFLOW_SERVING_HOST ?? '127.0.0.1' },
      version: { type: 'string', default: env.SCANFLOW_MODEL_VERSION ?? 'production' },
      'max-batch': { type: 'string' },
      'max-wait-ms': { type: 'string' },
      'no-batching': { type: 'boolean', default: false },
      'batch-wait': { type: 'string', default: 'arrivals' },
      'poll-ms': { type: 'string' },
      'log-batch': { type: 'string' },
      'log-flush-ms': { type: 'string' },
      'no-log': { type: 'boolean', default: false },
      'no-log-pixels': { type: 'boolean', default: false },
      replica: { type: 'string', default: env.SCANFLOW_REPLICA },
    },
    strict: true,
  });
  if (!values.store)
    throw new Error('--store is required (or SCANFLOW_STORE): a directory, s3://bucket/prefix or a JSON store config');
  if (!values.model) throw new Error('--model is required (or SCANFLOW_MODEL): the registry model name, e.g. mnist');
  const store = openKnowledgeStore(parseStoreArgument(values.store));
  const registry = new ModelRegistry(store, values.model);
  const predictionLog = values['no-log']
    ? undefined
    : new BatchedPredictionLogWriter(store, {
        model: values.model,
        batchSize: positiveInt('log-batch', values['log-batch'], 200),
        flushIntervalMs: positiveInt('log-flush-ms', values['log-flush-ms'], 2000, 0),
        ...(values.replica ? { writerId: values.replica } : {}),
      });
  const server = new ModelServer({
    modelName: values.model,
    source: registryModelSource(registry),
    predictionLog,
    logPixels: !values['no-log-pixels'],
    batching: values['no-batching']
      ? false
      : {
          maxBatchSize: positiveInt('max-batch', values['max-batch'], 256),
          maxWaitMs: positiveInt('max-wait-ms', values['max-wait-ms'], 2, 0),
          wait: batchWait(values['batch-wait']),
        },
    initialVersion: parseVersion(values.version),
    pollProductionMs: positiveInt('poll-ms', values['poll-ms'], 0, 0),
    log: (line) => console.error(`[serving ${values.model}] ${line}`),
  });
  const port = await server.listen(positiveInt('port', values.port, 8080, 0), values.host);
  console.log(
    JSON.stringify({
      event: 'listening',
      port,
      host: values.host,
      model: values.model,
      version: server.slot.version ?? null,
      store: store.location,
    }),
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.error(`[serving ${values.model}] ${signal}: draining in-flight requests and flushing the prediction log`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`[serving ${values.model}] shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

run().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
