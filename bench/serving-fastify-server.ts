/**
 * The Fastify trial of issue 13: the model server's infer and health routes on Fastify 5 instead
 * of node:http, everything else the same (one ModelServer's context: model slot, batcher,
 * metrics, prediction log; the same request parsers, inference and response encoder). Fastify
 * reads the body through its content-type parsers (a Buffer, bounded by its bodyLimit) and
 * writes the already-encoded answer; bench/serving.ts runs it beside the node:http server in the
 * same run, and the faster one is what src/serving keeps (node:http, see src/serving/README.md).
 *
 *   npx tsx bench/serving-fastify-server.ts --store <dir> --model mnist --port <n> [--no-log]
 *
 * Prints the same `listening` line as src/serving/main.ts.
 */
import Fastify from 'fastify';
import { parseArgs } from 'node:util';
import { BatchedPredictionLogWriter } from '../src/knowledge/prediction-log.js';
import { ModelRegistry } from '../src/knowledge/model-registry.js';
import { LocalDirectoryStore } from '../src/knowledge/local-store.js';
import { MAX_BODY_BYTES } from '../src/serving/http-io.js';
import { HEADER_LENGTH } from '../src/serving/infer-route.js';
import { runInference } from '../src/serving/inference.js';
import { registryModelSource } from '../src/serving/model-source.js';
import {
  ProtocolError,
  encodeInferResponse,
  parseBinaryInferRequest,
  parseInferRequest,
} from '../src/serving/protocol.js';
import { ModelServer } from '../src/serving/server.js';

async function run(): Promise<void> {
  const { values } = parseArgs({
    options: {
      store: { type: 'string' },
      model: { type: 'string', default: 'mnist' },
      port: { type: 'string', default: '0' },
      'no-log': { type: 'boolean', default: false },
    },
  });
  if (!values.store) throw new Error('--store <dir> is required');
  const store = new LocalDirectoryStore(values.store);
  const registry = new ModelRegistry(store, values.model);
  const server = new ModelServer({
    modelName: values.model,
    source: registryModelSource(registry),
    ...(values['no-log']
      ? {}
      : {
          predictionLog: new BatchedPredictionLogWriter(store, {
            model: values.model,
            batchSize: 200,
            flushIntervalMs: 0,
            writerId: 'fastify',
          }),
        }),
    log: (line) => console.error(`[fastify trial] ${line}`),
  });
  await server.switchTo('production');
  const ctx = server.context;

  const app = Fastify({ bodyLimit: MAX_BODY_BYTES, keepAliveTimeout: 30_000 });
  // One parser for every content type: the body as one Buffer, parsed by the server's own parsers.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err instanceof ProtocolError ? err.status : (err.statusCode ?? 500);
    void reply.code(status).send({ error: err.message });
  });
  app.get('/v2/health/ready', (_req, reply) => {
    void reply.code(ctx.slot.ready ? 200 : 503).send({ ready: ctx.slot.ready });
  });
  app.post<{ Params: { model: string } }>('/v2/models/:model/infer', async (req, reply) => {
    const body = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
    const declared = req.headers[HEADER_LENGTH];
    const { request, answer } = await runInference(ctx, req.params.model, undefined, () => {
      if (declared === undefined) return parseInferRequest(body);
      if (typeof declared !== 'string' || !/^\d{1,10}$/.test(declared.trim()))
        throw new ProtocolError(400, `${HEADER_LENGTH} must be a byte count, got ${JSON.stringify(declared)}`);
      return parseBinaryInferRequest(body, Number(declared));
    });
    const encoded = encodeInferResponse(answer, request.binaryOutputs);
    if (encoded.headerLength !== undefined) {
      void reply.header(HEADER_LENGTH, encoded.headerLength).type('application/octet-stream');
    } else void reply.type('application/json');
    return reply.send(encoded.body);
  });
  const address = await app.listen({ port: Number(values.port), host: '127.0.0.1' });
  console.log(JSON.stringify({ event: 'listening', port: Number(new URL(address).port), http: 'fastify' }));
  const stop = () => {
    void app
      .close()
      .then(() => server.close())
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
