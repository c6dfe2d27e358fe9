/**
 * The model-server command line, read into typed options (main.ts only wires them up), so every
 * bad argument is refused before anything starts, with a message that names the flag.
 *
 * Options (flags win over the environment variables named in brackets):
 *   --store <dir | file:///dir | s3://bucket/prefix | JSON>   knowledge store [SCANFLOW_STORE] (required)
 *   --model <name>             registry model name, also the served name [SCANFLOW_MODEL] (required)
 *   --port <n>                 0 = any free port (default 8080) [SCANFLOW_SERVING_PORT]
 *   --host <addr>              default 127.0.0.1; 0.0.0.0 in a container [SCANFLOW_SERVING_HOST]
 *   --grpc-port <n>            also serve OIP v2 over gRPC on this port (0 = any free port; default off) [SCANFLOW_GRPC_PORT]
 *   --workers <n|auto>         server processes sharing the port(s), each with cores/n TensorFlow threads
 *                              (default 1; auto = the CPUs this process may use, its cgroup quota
 *                              included: usable-cpus.ts; see cluster.ts) [SCANFLOW_SERVING_WORKERS]
 *   --max-queue <n>            images allowed to wait for the model before 503 (default 8 x max-batch)
 *   --max-body-bytes <n>       largest infer body (default 32 MB; Content-Length over it is refused unread)
 *   --version <n|production|none>   version to serve at start (default production) [SCANFLOW_MODEL_VERSION]
 *   --max-batch <n> --max-wait-ms <ms> --batch-wait <arrivals|fixed> | --no-batching
 *                              dynamic batching (default 256 images, 2 ms, arrivals: see batcher.ts)
 *   --poll-ms <ms>             follow the registry's production version (0 = off, default)
 *   --drain-ms <ms>            on SIGTERM keep answering (Connection: close) up to this long so keep-alive
 *                              clients move to other replicas before idle connections close (default 3000
 *                              when listening beyond loopback, behind a Service; 0 on loopback) [SCANFLOW_SERVING_DRAIN_MS]
 *   --log-batch <n> --log-flush-ms <ms>                        prediction log batching (default 200 / 2000 ms)
 *   --no-log | --no-log-pixels                                 no prediction log / records without pixels
 *   --replica <id>             distinguishes replicas in the prediction log keys [SCANFLOW_REPLICA]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { KnowledgeStoreConfig } from '../knowledge/types.js';
import type { BatchingOptions, BatchWaitPolicy } from './batcher.js';
import { usableCpus } from './usable-cpus.js';
import { MODEL_VERSION_ENV, parseModelVersion, type InitialVersion } from './model-version.js';
import { parseStoreArgument } from './store-config.js';

export interface ServerArguments {
  store: KnowledgeStoreConfig;
  model: string;
  port: number;
  host: string;
  /** undefined: no gRPC endpoint. */
  grpcPort?: number;
  workers: number;
  maxBodyBytes?: number;
  initialVersion: InitialVersion;
  batching: BatchingOptions | false;
  pollProductionMs: number;
  /** SIGTERM: answers with Connection: close for up to this long before idle connections close. */
  drainMs: number;
  /** undefined: no prediction log (--no-log). */
  predictionLog?: { batchSize: number; flushIntervalMs: number };
  logPixels: boolean;
  replica?: string;
  /** Token /admin/model requires (SCANFLOW_ADMIN_TOKEN from a Secret, or --admin-token-file); never a flag value. */
  adminToken?: string;
}

/** Hosts no Service or load balancer sits in front of: nothing to drain from. */
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function integer(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min)
    throw new Error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** --workers: a count, or `auto` for the CPUs this process may use (affinity and cgroup quota). */
function workerCount(value: string | undefined): number {
  if (value?.trim() === 'auto') return usableCpus();
  try {
    return integer('workers', value, 1);
  } catch {
    throw new Error(`--workers must be an integer >= 1 or "auto", got ${JSON.stringify(value)}`);
  }
}

function batchWait(value: string | undefined): BatchWaitPolicy {
  if (value === 'arrivals' || value === 'fixed') return value;
  throw new Error(`--batch-wait must be "arrivals" or "fixed", got ${JSON.stringify(value)}`);
}

export function parseServerArguments(args: string[], env: NodeJS.ProcessEnv = process.env): ServerArguments {
  const { values } = parseArgs({
    args,
    options: {
      store: { type: 'string', default: env.SCANFLOW_STORE },
      model: { type: 'string', default: env.SCANFLOW_MODEL },
      port: { type: 'string', default: env.SCANFLOW_SERVING_PORT ?? '8080' },
      host: { type: 'string', default: env.SCANFLOW_SERVING_HOST ?? '127.0.0.1' },
      'grpc-port': { type: 'string', default: env.SCANFLOW_GRPC_PORT },
      workers: { type: 'string', default: env.SCANFLOW_SERVING_WORKERS ?? '1' },
      'max-queue': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      version: { type: 'string', default: env[MODEL_VERSION_ENV] ?? 'production' },
      'max-batch': { type: 'string' },
      'max-wait-ms': { type: 'string' },
      'no-batching': { type: 'boolean', default: false },
      'batch-wait': { type: 'string', default: 'arrivals' },
      'poll-ms': { type: 'string' },
      'drain-ms': { type: 'string', default: env.SCANFLOW_SERVING_DRAIN_MS },
      'log-batch': { type: 'string' },
      'log-flush-ms': { type: 'string' },
      'no-log': { type: 'boolean', default: false },
      'no-log-pixels': { type: 'boolean', default: false },
      replica: { type: 'string', default: env.SCANFLOW_REPLICA },
      'admin-token-file': { type: 'string', default: env.SCANFLOW_ADMIN_TOKEN_FILE },
    },
    strict: true,
  });
  if (!values.store)
    throw new Error('--store is required (or SCANFLOW_STORE): a directory, s3://bucket/prefix or a JSON store config');
  if (!values.model) throw new Error('--model is required (or SCANFLOW_MODEL): the registry model name, e.g. mnist');
  return {
    store: parseStoreArgument(values.store, env),
    model: values.model,
    port: integer('port', values.port, 8080, 0),
    host: values.host ?? '127.0.0.1',
    ...(values['grpc-port'] !== undefined ? { grpcPort: integer('grpc-port', values['grpc-port'], 0, 0) } : {}),
    workers: workerCount(values.workers),
    ...(values['max-body-bytes'] !== undefined
      ? { maxBodyBytes: integer('max-body-bytes', values['max-body-bytes'], 0, 1024) }
      : {}),
    initialVersion: parseModelVersion(values.version, '--version', ['production', 'none']),
    batching: values['no-batching']
      ? false
      : {
          maxBatchSize: integer('max-batch', values['max-batch'], 256),
          maxWaitMs: integer('max-wait-ms', values['max-wait-ms'], 2, 0),
          wait: batchWait(values['batch-wait']),
          ...(values['max-queue'] !== undefined
            ? { maxQueuedImages: integer('max-queue', values['max-queue'], 1) }
            : {}),
        },
    pollProductionMs: integer('poll-ms', values['poll-ms'], 0, 0),
    drainMs: integer('drain-ms', values['drain-ms'], LOOPBACK.has(values.host ?? '127.0.0.1') ? 0 : 3000, 0),
    predictionLog: values['no-log']
      ? undefined
      : {
          batchSize: integer('log-batch', values['log-batch'], 200),
          flushIntervalMs: integer('log-flush-ms', values['log-flush-ms'], 2000, 0),
        },
    logPixels: !values['no-log-pixels'],
    ...(values.replica ? { replica: values.replica } : {}),
    ...adminToken(values['admin-token-file'], env),
  };
}

/** The admin token: SCANFLOW_ADMIN_TOKEN (a Secret's value in the environment) or the file --admin-token-file names. */
function adminToken(file: string | undefined, env: NodeJS.ProcessEnv): { adminToken?: string } {
  if (file) {
    let token: string;
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new Error(`--admin-token-file: cannot read ${file}: ${(err as Error).message}`);
    }
    if (token.length < 16) throw new Error(`--admin-token-file: the token in ${file} is shorter than 16 characters`);
    return { adminToken: token };
  }
  const token = env.SCANFLOW_ADMIN_TOKEN?.trim();
  if (token === undefined || token === '') return {};
  if (token.length < 16) throw new Error('SCANFLOW_ADMIN_TOKEN is shorter than 16 characters');
  return { adminToken: token };
}
