/**
 * The model server in this process against a real S3-backed registry and real native TensorFlow:
 * protocol conformance, bad requests, metrics, the prediction log and a version switch under load.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import {
  BatchedPredictionLogWriter,
  listPredictionBatches,
  readPredictionBatch,
} from '../../src/knowledge/prediction-log.js';
import type { ModelRegistry } from '../../src/knowledge/model-registry.js';
import type { KnowledgeStore } from '../../src/knowledge/types.js';
import { tensorflow } from '../../src/ml/tf.js';
import { registryModelSource } from '../../src/serving/model-source.js';
import { ModelServer } from '../../src/serving/server.js';
import { images, inferBody, s3Store, seededRegistry, uniqueS3StoreConfig } from './fixtures.js';

interface InferResponseBody {
  model_name: string;
  model_version: string;
  id: string;
  outputs: Array<{ name: string; shape: number[]; datatype: string; data: number[] }>;
}

describe('model server (Open Inference Protocol v2)', () => {
  let store: KnowledgeStore;
  let registry: ModelRegistry;
  let server: ModelServer;
  let base: string;

  beforeAll(async () => {
    store = s3Store(uniqueS3StoreConfig('server'));
    registry = await seededRegistry(store, 'mnist', 2);
    server = new ModelServer({
      modelName: 'mnist',
      source: registryModelSource(registry),
      predictionLog: new BatchedPredictionLogWriter(store, {
        model: 'mnist',
        batchSize: 50,
        flushIntervalMs: 0,
        writerId: 'test',
      }),
      batching: { maxBatchSize: 64, maxWaitMs: 5 },
      processMetrics: false,
      log: () => undefined,
    });
    base = `http://127.0.0.1:${await server.listen(0)}`;
  });
  afterAll(async () => {
    await server?.close();
  });

  const post = (path: string, body: string) =>
    fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

  it('answers health, server and model metadata', async () => {
    expect(await (await fetch(`${base}/v2/health/live`)).json()).toEqual({ live: true });
    const ready = await fetch(`${base}/v2/health/ready`);
    expect(ready.status).toBe(200);
    expect(await (await fetch(`${base}/v2`)).json()).toMatchObject({ name: 'scanflow-model-server' });
    const meta = (await (await fetch(`${base}/v2/models/mnist`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      name: 'mnist',
      versions: ['1'],
      inputs: [{ name: 'images', datatype: 'FP32', shape: [-1, 28, 28, 1] }],
    });
    expect((await fetch(`${base}/v2/models/mnist/ready`)).status).toBe(200);
    expect((await fetch(`${base}/v2/models/mnist/versions/1/ready`)).status).toBe(200);
    expect((await fetch(`${base}/v2/models/mnist/versions/9/ready`)).status).toBe(503);
    expect((await fetch(`${base}/v2/models/other/ready`)).status).toBe(503);
  });

  it('classifies [n,28,28,1] and [n,784] inputs alike, with probabilities that sum to 1 and arg-max labels', async () => {
    const n = 3;
    const a = (await (await post('/v2/models/mnist/infer', inferBody(n, { id: 'req-a' }))).json()) as InferResponseBody;
    const flat = JSON.stringify({ inputs: [{ name: 'images', shape: [n, 784], datatype: 'FP32', data: images(n) }] });
    const bRes = await post('/v2/models/mnist/versions/1/infer', flat);
    expect(bRes.status).toBe(200);
    const b = (await bRes.json()) as InferResponseBody;
    expect(a).toMatchObject({ model_name: 'mnist', model_version: '1', id: 'req-a' });
    expect(b.id).toMatch(/^[0-9a-f-]{36}$/);
    const [probs, labels] = a.outputs;
    expect(probs).toMatchObject({ name: 'probabilities', shape: [n, 10], datatype: 'FP32' });
    expect(labels).toMatchObject({ name: 'label', shape: [n], datatype: 'INT64' });
    for (let i = 0; i < n; i += 1) {
      const row = probs!.data.slice(i * 10, i * 10 + 10);
      expect(row.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);
      expect(labels!.data[i]).toBe(row.indexOf(Math.max(...row)));
    }
    expect(b.outputs).toEqual(a.outputs);
  });

  it('returns only the outputs asked for', async () => {
    const res = (await (
      await post('/v2/models/mnist/infer', inferBody(1, { outputs: [{ name: 'label' }] }))
    ).json()) as InferResponseBody;
    expect(res.outputs.map((o) => o.name)).toEqual(['label']);
  });

  const image = images(1);
  const badRequests: Array<[string, string, string, RegExp]> = [
    ['malformed JSON', '/v2/models/mnist/infer', '{"inputs": [', /not valid JSON/],
    ['no inputs', '/v2/models/mnist/infer', '{}', /"inputs" must be an array/],
    ['two inputs', '/v2/models/mnist/infer', JSON.stringify({ inputs: [{}, {}] }), /exactly 1 tensor/],
    [
      'wrong input name',
      '/v2/models/mnist/infer',
      JSON.stringify({ inputs: [{ name: 'x', shape: [1, 784], datatype: 'FP32', data: image }] }),
      /inputs\[0\]\.name must be "images"/,
    ],
    [
      'wrong datatype',
      '/v2/models/mnist/infer',
      JSON.stringify({ inputs: [{ name: 'images', shape: [1, 784], datatype: 'INT8', data: image }] }),
      /datatype must be "FP32", got "INT8"/,
    ],
    [
      'wrong shape',
      '/v2/models/mnist/infer',
      JSON.stringify({ inputs: [{ name: 'images', shape: [1, 32, 32, 3], datatype: 'FP32', data: image }] }),
      /shape must be \[n, 28, 28, 1\] or \[n, 784\], got \[1,32,32,3\]/,
    ],
    [
      'zero images',
      '/v2/models/mnist/infer',
      JSON.stringify({ inputs: [{ name: 'images', shape: [0, 784], datatype: 'FP32', data: [] }] }),
      /at least 1/,
    ],
    [
      'data length mismatch',
      '/v2/models/mnist/infer',
      JSON.stringify({ inputs: [{ name: 'images', shape: [2, 784], datatype: 'FP32', data: image }] }),
      /has 784 values but shape needs 1568/,
    ],
    [
      'non-number data',
      '/v2/models/mnist/infer',
      JSON.stringify({
        inputs: [{ name: 'images', shape: [1, 784], datatype: 'FP32', data: ['a', ...image.slice(1)] }],
      }),
      /data\[0\] must be a finite number, got "a"/,
    ],
    [
      'sample ids mismatch',
      '/v2/models/mnist/infer',
      inferBody(2, { parameters: { sample_ids: ['only-one'] } }),
      /sample_ids has 1 ids for 2 images/,
    ],
    [
      'unknown output',
      '/v2/models/mnist/infer',
      inferBody(1, { outputs: [{ name: 'logits' }] }),
      /outputs\[0\]\.name must be/,
    ],
    ['unknown model', '/v2/models/cifar/infer', inferBody(1), /unknown model "cifar": this server serves "mnist"/],
    [
      'unknown version',
      '/v2/models/mnist/versions/7/infer',
      inferBody(1),
      /unknown version "7" of model "mnist": serving version 1/,
    ],
  ];
  it.each(badRequests)('rejects %s with 400 and an error naming the problem', async (_what, path, body, message) => {
    const res = await post(path, body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/json');
    const json = (await res.json()) as { error: string };
    expect(json.error).toMatch(message);
  });

  it('answers unknown routes with 404 and wrong methods with 405, as JSON errors', async () => {
    const missing = await fetch(`${base}/v3/whatever`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: expect.stringMatching(/no route GET \/v3\/whatever/) });
    const wrong = await fetch(`${base}/v2/models/mnist/infer`);
    expect(wrong.status).toBe(405);
    expect(await wrong.json()).toMatchObject({ error: expect.stringMatching(/use POST/) });
  });

  it('exposes request, error, latency, batch-size and version metrics in Prometheus format', async () => {
    const before = await scrape(base);
    await Promise.all(
      [1, 2, 3, 4].map((i) => post('/v2/models/mnist/infer', inferBody(2, {}, i)).then((r) => r.arrayBuffer())),
    );
    await post('/v2/models/mnist/infer', '{"inputs": 1}').then((r) => r.arrayBuffer());
    const after = await scrape(base);
    const delta = (line: string) => (after.get(line) ?? 0) - (before.get(line) ?? 0);
    expect(delta('scanflow_inference_requests_total{model="mnist",code="200"}')).toBe(4);
    expect(delta('scanflow_inference_requests_total{model="mnist",code="400"}')).toBe(1);
    expect(delta('scanflow_inference_errors_total{model="mnist",reason="bad_request"}')).toBe(1);
    expect(delta('scanflow_predictions_total{model="mnist",version="1"}')).toBe(8);
    expect(delta('scanflow_inference_request_duration_seconds_count{model="mnist"}')).toBe(5);
    expect(delta('scanflow_inference_batch_size_sum{model="mnist"}')).toBe(8);
    expect(after.get('scanflow_model_version_info{model="mnist",version="1"}')).toBe(1);
    expect(after.get('scanflow_model_version{model="mnist"}')).toBe(1);
  });

  it('writes every prediction (input reference, output, version, time, pixels) to the prediction log in batches', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => `stream-7-${i}`);
    const res = (await (
      await post('/v2/models/mnist/infer', inferBody(5, { parameters: { sample_ids: ids } }, 42))
    ).json()) as InferResponseBody;
    expect(await server.flushPredictionLog()).toBe(0);
    const keys = await listPredictionBatches(store, 'mnist');
    const records = (await Promise.all(keys.map((k) => readPredictionBatch(store, k)))).flat();
    const mine = ids.map((id) => records.find((r) => r.id === id));
    const sent = images(5, 42);
    mine.forEach((record, i) => {
      expect(record).toMatchObject({ model: 'mnist', modelVersion: 1, predicted: res.outputs[1]!.data[i] });
      expect(record!.confidence).toBeCloseTo(res.outputs[0]!.data[i * 10 + res.outputs[1]!.data[i]!]!, 5);
      expect(Date.parse(record!.time)).not.toBeNaN();
      const pixels = Buffer.from(record!.pixelsBase64!, 'base64');
      expect(pixels).toHaveLength(784);
      expect(pixels[100]).toBe(Math.round(sent[i * 784 + 100]! * 255));
    });
    // Every earlier request of this file was logged too: one record per image, none lost.
    const scraped = await scrape(base);
    expect(records.length).toBe(scraped.get('scanflow_predictions_total{model="mnist",version="1"}'));
  });

  it('switches to a new version under concurrent load without a failed request, and frees the old one', async () => {
    const tf = tensorflow();
    const responses: Array<{ status: number; version?: string; sentAfterSwitch: boolean }> = [];
    let switched = false;
    let stop = false;
    const client = async (seed: number) => {
      while (!stop) {
        const sentAfterSwitch = switched;
        const res = await post('/v2/models/mnist/infer', inferBody(2, {}, seed));
        const body = (await res.json()) as Partial<InferResponseBody>;
        responses.push({ status: res.status, version: body.model_version, sentAfterSwitch });
      }
    };
    const clients = [1, 2, 3, 4, 5, 6].map((s) => client(s));
    while (responses.length < 30) await new Promise((r) => setTimeout(r, 5));
    const tensorsWithOne = tf.memory().numTensors;
    const swap = await post('/admin/model', JSON.stringify({ version: 2 }));
    expect(await swap.json()).toEqual({ model: 'mnist', version: '2', previous: '1' });
    switched = true;
    const atSwitch = responses.length;
    while (responses.length < atSwitch + 30) await new Promise((r) => setTimeout(r, 5));
    stop = true;
    await Promise.all(clients);

    expect(responses.filter((r) => r.status !== 200)).toEqual([]);
    const versions = new Set(responses.map((r) => r.version));
    expect(versions).toEqual(new Set(['1', '2']));
    // A request sent after the switch answered is never served by the old version.
    expect(responses.filter((r) => r.sentAfterSwitch && r.version !== '2')).toEqual([]);
    expect(server.slot.loadedVersions).toEqual(['2']);
    // The old version's weights were disposed once its last batch finished (same-size models).
    expect(tf.memory().numTensors).toBe(tensorsWithOne);
    const metrics = await scrape(base);
    expect(metrics.get('scanflow_model_version{model="mnist"}')).toBe(2);
    expect(metrics.get('scanflow_model_switches_total{model="mnist"}')).toBe(1);
    expect(metrics.has('scanflow_model_version_info{model="mnist",version="1"}')).toBe(false);
  });

  it('refuses a switch to a version the registry does not have and keeps serving the current one', async () => {
    const res = await post('/admin/model', JSON.stringify({ version: 99 }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/cannot load model mnist version 99/);
    const bad = await post('/admin/model', JSON.stringify({ version: 'latest' }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(
      /"version" must be a positive integer or "production", got "latest"/,
    );
    const ok = (await (await post('/v2/models/mnist/infer', inferBody(1))).json()) as InferResponseBody;
    expect(ok.model_version).toBe('2');
  });

  it('answers a request pinned to the old version that was arriving during the switch, on that version', async () => {
    expect(server.slot.version).toBe('2');
    const body = inferBody(2, { id: 'pinned' });
    const port = new URL(base).port;
    // Send half of the body to /versions/2/infer, switch to version 1, then send the rest.
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v2/models/mnist/versions/2/infer',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 1000));
      void (async () => {
        // The server has read the headers and leased version 2 for this request.
        while (
          ((await (await fetch(`${base}/admin/model`)).json()) as { leases: Record<string, number> }).leases['2'] !== 1
        )
          await new Promise((r) => setTimeout(r, 5));
        const swap = await post('/admin/model', JSON.stringify({ version: 1 }));
        expect(await swap.json()).toMatchObject({ version: '1', previous: '2' });
        expect(server.slot.loadedVersions).toEqual(['1', '2']); // 2 stays while the pinned request holds it
        req.end(body.slice(1000));
      })().catch(reject);
    });
    const answer = await response;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ id: 'pinned', model_version: '2' });
    expect(server.slot.loadedVersions).toEqual(['1']);
    // A request pinned to version 2 after the switch is refused: 2 is no longer served.
    const late = await post('/v2/models/mnist/versions/2/infer', inferBody(1));
    expect(late.status).toBe(400);
  });
});

/** The Prometheus text of /metrics as series → value. */
async function scrape(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}
