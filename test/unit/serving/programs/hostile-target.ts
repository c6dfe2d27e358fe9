/**
 * Run by hostile-http.test.ts as its own process (so a crash is a dead process, not a jest
 * artefact): a model server with a small pure-JS model (no TensorFlow: this is about HTTP), small
 * body limits and short slow-client timeouts, and a local router in front of it. Prints one JSON
 * line { server, router } with both ports, then serves until killed.
 */
import { Router } from '../../../../src/platform/local/router.js';
import type { Replica } from '../../../../src/platform/local/replica.js';
import { ModelServer } from '../../../../src/serving/server.js';
import { toySource } from '../toy-model.js';

const source = toySource();

async function run(): Promise<void> {
  const server = new ModelServer({
    modelName: 'mnist',
    source,
    batching: { maxBatchSize: 16, maxWaitMs: 2, maxQueuedImages: 64 },
    maxBodyBytes: 1024 * 1024,
    bodyBudgetBytes: 3 * 1024 * 1024,
    headersTimeoutMs: 1000,
    requestTimeoutMs: 2000,
    processMetrics: false,
    log: (line) => console.error(line),
  });
  const serverPort = await server.listen(0);
  const replica = { name: 'r0', port: serverPort, ready: true, draining: false, inFlight: 0, pid: process.pid };
  const router = new Router({ replicas: () => [replica as unknown as Replica] });
  router.setTraffic(new Map([['model-server', 100]]), undefined);
  const routerPort = await router.listen(0);
  console.log(JSON.stringify({ server: serverPort, router: routerPort }));
}

process.on('unhandledRejection', (err) => {
  console.error('unhandled rejection:', err);
  process.exit(70);
});
run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
