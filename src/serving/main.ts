/**
 * The model-server process: `npx tsx src/serving/main.ts --store <store> --model mnist --port 8080`.
 * Used by the local platform (one process per replica) and as the container command on Kubernetes.
 * The options and their environment variables are listed in server-arguments.ts.
 * Prints one JSON line {"event":"listening","port":N,...} once it serves; SIGTERM/SIGINT drain and exit 0.
 * With --workers N (N > 1) this process is the primary of N server processes sharing the port(s)
 * (cluster.ts); the listening line then comes once all of them listen.
 */
import cluster from 'node:cluster';
import { BatchedPredictionLogWriter } from '../knowledge/prediction-log.js';
import { ModelRegistry } from '../knowledge/model-registry.js';
import { openKnowledgeStore } from '../knowledge/open-store.js';
import { registerWorkerRegistry, runPrimary, workerHooks } from './cluster.js';
import { registryModelSource } from './model-source.js';
import { parseServerArguments } from './server-arguments.js';
import { ModelServer } from './server.js';
import type { SwitchResult } from './version-switcher.js';

async function run(): Promise<void> {
  const args = parseServerArguments(process.argv.slice(2), process.env);
  const log = (line: string) =>
    console.error(`[serving ${args.model}${cluster.isWorker ? ` w${cluster.worker?.id}` : ''}] ${line}`);
  if (args.workers > 1 && cluster.isPrimary) return runPrimary(args.workers, log);

  const store = openKnowledgeStore(args.store);
  const registry = new ModelRegistry(store, args.model);
  const worker = cluster.isWorker ? process.env.SCANFLOW_SERVING_WORKER : undefined;
  const writerId = [args.replica, worker === undefined ? undefined : `w${worker}`].filter(Boolean).join('-');
  const predictionLog = args.predictionLog
    ? new BatchedPredictionLogWriter(store, {
        model: args.model,
        batchSize: args.predictionLog.batchSize,
        // The server's bounded queue paces the writes (and backs off when the store fails).
        flushIntervalMs: 0,
        ...(writerId ? { writerId } : {}),
      })
    : undefined;
  const hooks: ReturnType<typeof workerHooks> | undefined = cluster.isWorker
    ? workerHooks({ switchLocally: (v): Promise<SwitchResult> => server.switchTo(v) })
    : undefined;
  const server: ModelServer = new ModelServer({
    modelName: args.model,
    source: registryModelSource(registry),
    predictionLog,
    logPixels: args.logPixels,
    ...(args.predictionLog ? { predictionQueue: args.predictionLog } : {}),
    batching: args.batching,
    initialVersion: args.initialVersion,
    pollProductionMs: args.pollProductionMs,
    drainMs: args.drainMs,
    ...(args.grpcPort !== undefined ? { grpcPort: args.grpcPort } : {}),
    ...(args.maxBodyBytes !== undefined ? { maxBodyBytes: args.maxBodyBytes } : {}),
    ...(hooks ? { cluster: hooks } : {}),
    ...(args.adminToken ? { adminToken: args.adminToken } : {}),
    log,
  });
  if (hooks) registerWorkerRegistry(server.metrics.registry);
  const port = await server.listen(args.port, args.host);
  const info = {
    event: 'listening',
    port,
    ...(server.grpcPort !== undefined ? { grpcPort: server.grpcPort } : {}),
    host: args.host,
    model: args.model,
    version: server.slot.version ?? null,
    store: store.location,
    // TensorFlow's compute threads in this process (cluster.ts divides the cores among workers).
    ...(process.env.TF_NUM_INTRAOP_THREADS ? { intraOpThreads: Number(process.env.TF_NUM_INTRAOP_THREADS) } : {}),
  };
  if (hooks) hooks.listening(info);
  else console.log(JSON.stringify(info));

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: draining in-flight requests and flushing the prediction log`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`shutdown failed: ${(err as Error).message}`);
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
