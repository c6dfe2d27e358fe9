/**
 * Regression tests of issue 15's model-server defects, on a model server in this process with a
 * pure-JS model (toy-model.ts): FP32 overflow, load shedding, the prediction log with the store
 * down (bounded memory, drop metric, backoff, recovery), body limits before buffering.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { BatchedPredictionLogWriter } from '../../../src/knowledge/prediction-log.js';
import type { KnowledgeStore } from '../../../src/knowledge/types.js';
import { DynamicBatcher, OverloadedError } from '../../../src/serving/batcher.js';
import { ProtocolError, parseInferRequest } from '../../../src/serving/protocol.js';
import { ModelServer, type ModelServerOptions } from '../../../src/serving/server.js';
import { toySource } from './toy-model.js';

const pixels = (value = 0.5, n = 1) => new Array(784 * n).fill(value);
const body = (data: number[], n = 1) =>
  JSON.stringify({ inputs: [{ name: 'images', shape: [n, 784], datatype: 'FP32', data }] });

let server: ModelServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: Partial<ModelServerOptions> = {}): Promise<string> {
  server = new ModelServer({
    modelName: 'mnist',
    source: toySource(),
    processMetrics: false,
    log: () => undefined,
    ...options,
  });
  return `http://127.0.0.1:${await server.listen(0)}`;
}

const metric = async (base: string, name: string): Promise<number> => {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
};

describe('FP32 range', () => {
  it.each([1e39, -1e39, 3.5e38, Number.MAX_VALUE])('refuses %p, finite in float64 but Infinity as FP32', (v) => {
    const data = pixels();
    data[7] = v;
    expect(() => parseInferRequest(body(data))).toThrow(/inputs\[0\]\.data\[7\] is .* outside the FP32 range/);
  });
  it('accepts the largest FP32 value', () => {
    const data = pixels();
    data[0] = 3.4028234663852886e38;
    expect(parseInferRequest(body(data)).images[0]).toBe(3.4028234663852886e38);
  });
  it('answers 400 over HTTP, and never NaN probabilities', async () => {
    const base = await start();
    const data = pixels();
    data[100] = 1e39;
    const res = await fetch(`${base}/v2/models/mnist/infer`, { method: 'POST', body: body(data) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/FP32 range/);
  });
});

describe('load shedding', () => {
  it('refuses a request past maxQueuedImages with OverloadedError, accepts again once drained', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batcher = new DynamicBatcher<number, number>(
      { maxBatchSize: 4, maxWaitMs: 0, maxQueuedImages: 8 },
      async (b) => {
        await gate;
        return b.parts.map((p) => p.meta);
      },
    );
    const first = batcher.submit(new Float32Array(784), 1, 0); // runs (and blocks) the model
    await new Promise((r) => setImmediate(r));
    const queued = Array.from({ length: 8 }, (_, i) => batcher.submit(new Float32Array(784), 1, i + 1));
    await expect(batcher.submit(new Float32Array(784), 1, 99)).rejects.toBeInstanceOf(OverloadedError);
    release();
    expect(await first).toBe(0);
    expect(await Promise.all(queued)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await batcher.submit(new Float32Array(784), 1, 100)).toBe(100);
  });

  it('answers 503 with retry-after and counts reason="overloaded" when the queue is full', async () => {
    const base = await start({
      source: toySource(1, 50),
      batching: { maxBatchSize: 2, maxWaitMs: 0, maxQueuedImages: 4 },
    });
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${base}/v2/models/mnist/infer`, { method: 'POST', body: body(pixels()) }).then(async (r) => {
          await r.arrayBuffer();
          return [r.status, r.headers.get('retry-after')] as const;
        }),
      ),
    );
    const shed = statuses.filter(([s]) => s === 503);
    expect(shed.length).toBeGreaterThan(0);
    expect(shed.every(([, retry]) => retry === '1')).toBe(true);
    expect(statuses.filter(([s]) => s === 200).length).toBeGreaterThanOrEqual(4);
    expect(await metric(base, 'scanflow_inference_errors_total{model="mnist",reason="overloaded"}')).toBe(shed.length);
  });
});

describe('prediction log with the store down', () => {
  it('holds at most maxRecords, counts the drops, backs off, and writes again once the store is back', async () => {
    let down = true;
    let attempts = 0;
    const written: unknown[] = [];
    const store = {
      location: 'memory://flaky',
      async putJson(_key: string, value: { records: unknown[] }) {
        attempts += 1;
        if (down) throw new Error('S3 unavailable');
        written.push(...value.records);
      },
    } as unknown as KnowledgeStore;
    const writer = new BatchedPredictionLogWriter(store, { model: 'mnist', batchSize: 50, flushIntervalMs: 0 });
    const base = await start({
      predictionLog: writer,
      predictionQueue: { maxRecords: 200, batchSize: 50, flushIntervalMs: 20, minBackoffMs: 40, maxBackoffMs: 200 },
      logPixels: true,
    });
    // 600 images while the store is down: 8 images per request, 75 requests.
    for (let i = 0; i < 75; i += 1) {
      const res = await fetch(`${base}/v2/models/mnist/infer`, { method: 'POST', body: body(pixels(0.1, 8), 8) });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    await new Promise((r) => setTimeout(r, 400));
    const pending = await metric(base, 'scanflow_prediction_log_pending');
    const dropped = await metric(base, 'scanflow_prediction_log_dropped_total');
    expect(pending).toBeLessThanOrEqual(200 + 50);
    expect(dropped).toBeGreaterThanOrEqual(600 - 250);
    expect(pending + dropped).toBe(600);
    expect(await metric(base, 'scanflow_prediction_log_write_failures_total')).toBeGreaterThan(0);
    // Backoff: tens of attempts at most (two per retried batch), not one per record past the first batch (~550).
    expect(attempts).toBeLessThan(50);
    down = false;
    await new Promise((r) => setTimeout(r, 600));
    expect(written.length).toBe(pending);
    expect(await metric(base, 'scanflow_prediction_log_pending')).toBe(0);
  });
});

describe('request bodies', () => {
  it('refuses a declared Content-Length over the limit with 413 before reading it', async () => {
    const base = await start({ maxBodyBytes: 10_000 });
    const res = await fetch(`${base}/v2/models/mnist/infer`, { method: 'POST', body: 'x'.repeat(20_000) });
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
  });
  it('keeps ProtocolError statuses for bad escapes (400, not 500)', async () => {
    const base = await start();
    const res = await fetch(`${base}/v2/models/%E0%A4%A/ready`);
    expect(res.status).toBe(400);
    expect(new ProtocolError(400, 'x').status).toBe(400);
  });
});
