/**
 * gRPC calls still arriving hold a batch back as REST requests do (grpc-arrivals.ts): over a raw
 * HTTP/2 connection, call A is sent whole while call B has sent only its headers; A is not run
 * alone but in one batch with B once B's message comes (the batcher's `arrivals` policy, with a
 * wait bound far longer than the test). Counted from the server's own batch metrics, not timed.
 * Also: a call that sends headers and then gives up does not keep holding batches.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http2 from 'node:http2';
import { inferenceServiceClient } from '../../src/serving/grpc-server.js';
import { registryModelSource } from '../../src/serving/model-source.js';
import { ModelServer } from '../../src/serving/server.js';
import { images, s3Store, seededRegistry, uniqueS3StoreConfig } from './fixtures.js';

const method = inferenceServiceClient().service.ModelInfer!;
const PATH = '/inference.GRPCInferenceService/ModelInfer';

/** One gRPC message frame: not compressed, 4-byte big-endian length, the protobuf bytes. */
function frame(seed: number): Buffer {
  const body = method.requestSerialize({
    model_name: 'mnist',
    inputs: [{ name: 'images', datatype: 'FP32', shape: [1, 784] }],
    raw_input_contents: [Buffer.from(new Float32Array(images(1, seed)).buffer)],
  });
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Opens a call (headers only); `answer` resolves to its grpc-status and decoded reply. */
function openCall(session: http2.ClientHttp2Session) {
  const stream = session.request({
    ':method': 'POST',
    ':path': PATH,
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const answer = new Promise<{ status: string; version?: string }>((resolve, reject) => {
    stream.on('trailers', (trailers) => {
      const data = Buffer.concat(chunks);
      const reply =
        data.length > 5 ? (method.responseDeserialize(data.subarray(5)) as { model_version: string }) : undefined;
      resolve({ status: String(trailers['grpc-status']), ...(reply ? { version: reply.model_version } : {}) });
    });
    stream.on('error', reject);
  });
  return { stream, answer };
}

async function batchCounts(server: ModelServer): Promise<{ batches: number; requests: number }> {
  const metric = await server.metrics.batchRequests.get();
  const count = metric.values.find((v) => v.metricName === 'scanflow_inference_batch_requests_count')?.value ?? 0;
  const sum = metric.values.find((v) => v.metricName === 'scanflow_inference_batch_requests_sum')?.value ?? 0;
  return { batches: count, requests: sum };
}

describe('gRPC arrivals and the batcher', () => {
  let server: ModelServer;
  let session: http2.ClientHttp2Session;

  beforeAll(async () => {
    const registry = await seededRegistry(s3Store(uniqueS3StoreConfig('grpc-arrivals')), 'mnist', 1);
    server = new ModelServer({
      modelName: 'mnist',
      source: registryModelSource(registry),
      grpcPort: 0,
      // A batch waits for arriving requests up to a minute: longer than this test runs.
      batching: { maxBatchSize: 64, maxWaitMs: 60_000, wait: 'arrivals' },
      processMetrics: false,
      log: () => undefined,
    });
    await server.listen(0);
    session = http2.connect(`http://127.0.0.1:${server.grpcPort}`);
  });
  afterAll(async () => {
    session?.close();
    await server?.close();
  });

  it('runs a call in one batch with a call whose message was still on its way', async () => {
    const before = await batchCounts(server);
    const b = openCall(session);
    const a = openCall(session);
    a.stream.end(frame(1));
    let aDone = false;
    void a.answer.then(() => (aDone = true));
    // Give A every chance to run alone if B's headers were not holding the batch.
    await new Promise((r) => setTimeout(r, 300));
    const aloneBeforeB = aDone;
    b.stream.end(frame(2));
    expect(await a.answer).toMatchObject({ status: '0', version: '1' });
    expect(await b.answer).toMatchObject({ status: '0', version: '1' });
    expect(aloneBeforeB).toBe(false);
    const after = await batchCounts(server);
    expect({ batches: after.batches - before.batches, requests: after.requests - before.requests }).toEqual({
      batches: 1,
      requests: 2,
    });
  });

  it('stops holding batches for a call that is cancelled before its message', async () => {
    const before = await batchCounts(server);
    const gone = openCall(session);
    gone.answer.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    gone.stream.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise((r) => setTimeout(r, 100));
    const a = openCall(session);
    a.stream.end(frame(3));
    // Answered although the wait bound is a minute: the cancelled call no longer counts as arriving.
    expect(await a.answer).toMatchObject({ status: '0', version: '1' });
    const after = await batchCounts(server);
    expect(after.batches - before.batches).toBe(1);
  }, 30_000);
});
