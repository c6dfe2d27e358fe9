/**
 * The model server through a real S3 outage: its knowledge base is a private versitygw server
 * (src/stack/s3-server.ts) that the test stops for real and starts again on the same port and
 * data. During the outage every prediction is answered, the prediction log holds at most its bound
 * and counts the rest as dropped (metrics), and a model switch fails at once with a message naming
 * the S3 server while the current version keeps serving. After the restart the held records are
 * written, each exactly once, and the switch works again.
 *
 * A second case needs a fault the real server cannot be made to produce on cue: a PUT that
 * reaches S3 while its answer is lost. A small HTTP proxy in front of the real versitygw forwards
 * one log PUT and then drops the connection (injected, on purpose); the retry must not duplicate.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchedPredictionLogWriter,
  listPredictionBatches,
  readPredictionBatch,
} from '../../src/knowledge/prediction-log.js';
import { S3Store } from '../../src/knowledge/s3-store.js';
import type { KnowledgeStore, PredictionRecord } from '../../src/knowledge/types.js';
import { registryModelSource } from '../../src/serving/model-source.js';
import { ModelServer } from '../../src/serving/server.js';
import { freePort } from '../../src/stack/ports.js';
import { startS3Server, type RunningS3 } from '../../src/stack/s3-server.js';
import { images, seededRegistry } from '../serving/fixtures.js';

const ACCESS = 'outage-access';
const SECRET = 'outage-secret-key-0123456789';
const BUCKET = 'scanflow-outage';
const MAX_RECORDS = 400;
const LOG_BATCH = 50;

describe('model server through a real S3 outage (versitygw stopped and restarted)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scanflow-s3-outage-'));
  const dataDir = join(dir, 'data');
  let port = 0;
  let s3: RunningS3 | undefined;
  let store: KnowledgeStore;
  let server: ModelServer;
  let base: string;
  const serverLog: string[] = [];

  const startS3 = () =>
    startS3Server({ dataDir, port, accessKey: ACCESS, secretKey: SECRET, logDir: join(dir, 'logs') });

  beforeAll(async () => {
    port = await freePort();
    mkdirSync(join(dataDir, BUCKET), { recursive: true });
    s3 = await startS3();
    store = new S3Store({
      endPoint: '127.0.0.1',
      port,
      useSSL: false,
      accessKey: ACCESS,
      secretKey: SECRET,
      bucket: BUCKET,
    });
    const registry = await seededRegistry(store, 'mnist', 2);
    server = new ModelServer({
      modelName: 'mnist',
      source: registryModelSource(registry),
      predictionLog: new BatchedPredictionLogWriter(store, {
        model: 'mnist',
        batchSize: LOG_BATCH,
        flushIntervalMs: 0,
        writerId: 'outage',
      }),
      predictionQueue: {
        maxRecords: MAX_RECORDS,
        batchSize: LOG_BATCH,
        flushIntervalMs: 100,
        minBackoffMs: 100,
        maxBackoffMs: 1000,
      },
      batching: { maxBatchSize: 32, maxWaitMs: 2 },
      processMetrics: false,
      log: (line) => serverLog.push(line),
    });
    base = `http://127.0.0.1:${await server.listen(0)}`;
  }, 90_000);

  afterAll(async () => {
    await server?.close();
    await s3?.process.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  /** `requests` requests of 8 images with sample ids `<prefix>-<n>`; resolves to the versions that answered. */
  const traffic = async (prefix: string, requests: number): Promise<{ versions: Set<string>; ms: number[] }> => {
    const versions = new Set<string>();
    const ms: number[] = [];
    for (let r = 0; r < requests; r += 1) {
      const ids = Array.from({ length: 8 }, (_, k) => `${prefix}-${r * 8 + k}`);
      const started = performance.now();
      const res = await fetch(`${base}/v2/models/mnist/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'images', shape: [8, 784], datatype: 'FP32', data: images(8, r + 1) }],
          parameters: { sample_ids: ids },
        }),
      });
      const body = (await res.json()) as { model_version?: string; error?: string };
      ms.push(performance.now() - started);
      expect({ status: res.status, error: body.error }).toEqual({ status: 200, error: undefined });
      versions.add(body.model_version ?? '');
    }
    return { versions, ms };
  };

  const adminSwitch = async (version: number | 'production') => {
    const res = await fetch(`${base}/admin/model`, { method: 'POST', body: JSON.stringify({ version }) });
    return { status: res.status, body: (await res.json()) as { version?: string; error?: string } };
  };

  const loggedRecords = async (): Promise<PredictionRecord[]> => {
    const records: PredictionRecord[] = [];
    for (const key of await listPredictionBatches(store, 'mnist'))
      records.push(...(await readPredictionBatch(store, key)));
    return records;
  };

  it('answers every prediction, bounds and counts the log, refuses a switch naming S3, and loses nothing within the bound', async () => {
    const before = await traffic('pre', 10);
    expect(await server.flushPredictionLog()).toBe(0);
    expect((await loggedRecords()).length).toBe(80);

    // The outage: the S3 server process is stopped (SIGTERM, its port closed).
    await s3!.process.stop();
    const outage = await traffic('out', 100);
    expect(outage.versions).toEqual(new Set(['1']));
    // Let the drain try (and fail, with backoff) a few times.
    await sleep(800);
    const pending = await metric('scanflow_prediction_log_pending');
    const dropped = await metric('scanflow_prediction_log_dropped_total');
    const failures = await metric('scanflow_prediction_log_write_failures_total');
    // Held within the bound (the queue's records plus the one batch handed to the writer).
    expect(pending).toBeGreaterThan(0);
    expect(pending).toBeLessThanOrEqual(MAX_RECORDS + LOG_BATCH);
    expect(pending + dropped).toBe(800);
    expect(dropped).toBeGreaterThan(0);
    expect(failures).toBeGreaterThan(0);
    expect(
      serverLog.some((l) =>
        /prediction log: write failed .*S3 server at http:\/\/127\.0\.0\.1:\d+ is unreachable/.test(l),
      ),
    ).toBe(true);

    // A model switch needs the registry: it fails at once, naming the S3 server, and serving goes on.
    const switchStarted = performance.now();
    const refused = await adminSwitch(2);
    const switchMs = performance.now() - switchStarted;
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatch(
      new RegExp(
        `cannot load model mnist version 2: cannot .*s3://${BUCKET}.*: the S3 server at http://127\\.0\\.0\\.1:${port} is unreachable`,
      ),
    );
    const production = await adminSwitch('production');
    expect(production.status).toBe(503);
    expect(production.body.error).toMatch(/S3 server at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
    expect((await traffic('still', 1)).versions).toEqual(new Set(['1']));
    expect(await metric('scanflow_prediction_log_dropped_total')).toBe(dropped + 8);

    // S3 comes back on the same port and data: the held records are written, nothing else.
    s3 = await startS3();
    const restarted = performance.now();
    while ((await metric('scanflow_prediction_log_pending')) > 0) {
      if (performance.now() - restarted > 30_000)
        throw new Error('the held prediction log was not written within 30 s');
      await sleep(100);
    }
    const recoveryMs = performance.now() - restarted;
    const records = await loggedRecords();
    const ids = records.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length); // nothing duplicated
    const pre = ids.filter((id) => id.startsWith('pre-'));
    const out = ids.filter((id) => id.startsWith('out-'));
    expect(pre.length).toBe(80);
    // Exactly the records held at the end of the outage: the first ones, newer ones were dropped.
    expect(out.length).toBe(pending);
    expect(new Set(out)).toEqual(new Set(Array.from({ length: pending }, (_, n) => `out-${n}`)));
    expect(serverLog.some((l) => l.includes('prediction log: store writable again'))).toBe(true);

    // Serving and switching work again.
    await traffic('after', 2);
    expect(await server.flushPredictionLog()).toBe(0);
    expect(await adminSwitch(2)).toMatchObject({ status: 200, body: { version: '2' } });

    const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(1);
    console.log(
      [
        `S3 outage (load average ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')}):`,
        `  800 images during the outage, all answered; request p50 ${p50(before.ms)} ms before, ${p50(outage.ms)} ms during`,
        `  log held ${pending} (bound ${MAX_RECORDS} + one batch of ${LOG_BATCH}), dropped ${dropped}, ${failures} failed writes (backoff 0.1-1 s)`,
        `  model switch refused in ${switchMs.toFixed(0)} ms (HTTP ${refused.status}) naming the S3 server`,
        `  after the restart: ${pending} held records written in ${recoveryMs.toFixed(0)} ms, 0 lost within the bound, 0 duplicated`,
      ].join('\n'),
    );
  }, 120_000);
});

/**
 * A plain HTTP proxy in front of the real S3 server (SigV4 signs the Host header, which is passed
 * on unchanged). `dropAnswers` log PUTs are forwarded, acted on by S3, and their answer is then
 * dropped (the client's socket destroyed): the fault injected here.
 */
class LostAnswerProxy {
  dropAnswers = 0;
  dropped: string[] = [];
  private server: Server | undefined;

  constructor(private readonly targetPort: number) {}

  async listen(): Promise<number> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const upstream = request(
          { host: '127.0.0.1', port: this.targetPort, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            const body: Buffer[] = [];
            answer.on('data', (c: Buffer) => body.push(c));
            answer.on('end', () => {
              if (req.method === 'PUT' && req.url?.includes('/predictions/') && this.dropAnswers > 0) {
                this.dropAnswers -= 1;
                this.dropped.push(req.url);
                req.socket.destroy();
                return;
              }
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(Buffer.concat(body));
            });
          },
        );
        upstream.on('error', () => req.socket.destroy());
        upstream.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('prediction log: a write that reached S3 but whose answer was lost', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scanflow-s3-lost-answer-'));
  let s3: RunningS3;
  let proxy: LostAnswerProxy;
  let store: S3Store;

  beforeAll(async () => {
    const port = await freePort();
    mkdirSync(join(dir, 'data', BUCKET), { recursive: true });
    s3 = await startS3Server({
      dataDir: join(dir, 'data'),
      port,
      accessKey: ACCESS,
      secretKey: SECRET,
      logDir: join(dir, 'logs'),
    });
    proxy = new LostAnswerProxy(port);
    const proxyPort = await proxy.listen();
    store = new S3Store({
      endPoint: '127.0.0.1',
      port: proxyPort,
      useSSL: false,
      accessKey: ACCESS,
      secretKey: SECRET,
      bucket: BUCKET,
    });
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await s3?.process.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is retried under the same key: one object, each record once', async () => {
    const writer = new BatchedPredictionLogWriter(store, {
      model: 'lost',
      batchSize: 10,
      flushIntervalMs: 0,
      writerId: 'w',
    });
    for (let i = 0; i < 10; i += 1)
      writer.append({
        id: `r-${i}`,
        time: new Date().toISOString(),
        model: 'lost',
        modelVersion: 1,
        predicted: 1,
        confidence: 0.5,
      });
    proxy.dropAnswers = 1;
    // The first attempt: S3 stores the batch, the writer sees the connection drop.
    await expect(writer.flush()).rejects.toThrow(/cannot write s3:\/\/scanflow-outage\/predictions\/lost\//);
    expect(proxy.dropped).toHaveLength(1);
    expect(writer.buffered).toBe(10);
    // The retry overwrites the same object.
    expect(await writer.flush()).toBe(10);
    const keys = await listPredictionBatches(store, 'lost');
    expect(keys).toHaveLength(1);
    expect(proxy.dropped[0]).toContain(keys[0]);
    const records = await readPredictionBatch(store, keys[0]!);
    expect(records.map((r) => r.id)).toEqual(Array.from({ length: 10 }, (_, i) => `r-${i}`));
  });
});
