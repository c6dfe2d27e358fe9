/**
 * The model-server process: `npx tsx src/serving/main.ts --store <store> --model mnist --port 8080`.
 * Used by the local platform (one process per replica) and as the container command on Kubernetes.
 * The options and their environment variables are listed in server-arguments.ts.
 * Prints one JSON line {"event":"listening","port":N,...} once it serves; SIGTERM/SIGINT drain and exit 0.
 */
import { BatchedPredictionLogWriter } from '../knowledge/prediction-log.js';
import { ModelRegistry } from '../knowledge/model-registry.js';
import { openKnowledgeStore } from '../knowledge/open-store.js';
import { registryModelSource } from './model-source.js';
import { parseServerArguments } from './server-arguments.js';
import { ModelServer } from './server.js';

async function run(): Promise<void> {
  const args = parseServerArguments(process.argv.slice(2), process.env);
  const store = openKnowledgeStore(args.store);
  const registry = new ModelRegistry(store, args.model);
  const predictionLog = args.predictionLog
    ? new BatchedPredictionLogWriter(store, {
        model: args.model,
        batchSize: args.predictionLog.batchSize,
        // The server's bounded queue paces the writes (and backs off when the store fails).
        flushIntervalMs: 0,
        ...(args.replica ? { writerId: args.replica } : {}),
      })
    : undefined;
  const server = new ModelServer({
    modelName: args.model,
    source: registryModelSource(registry),
    predictionLog,
    logPixels: args.logPixels,
    ...(args.predictionLog ? { predictionQueue: args.predictionLog } : {}),
    batching: args.batching,
    initialVersion: args.initialVersion,
    pollProductionMs: args.pollProductionMs,
    log: (line) => console.error(`[serving ${args.model}] ${line}`),
  });
  const port = await server.listen(args.port, args.host);
  console.log(
    JSON.stringify({
      event: 'listening',
      port,
      host: args.host,
      model: args.model,
      version: server.slot.version ?? null,
      store: store.location,
    }),
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.error(`[serving ${args.model}] ${signal}: draining in-flight requests and flushing the prediction log`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`[serving ${args.model}] shutdown failed: ${(err as Error).message}`);
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
