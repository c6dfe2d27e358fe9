/**
 * The traffic client against a real model server (counts, errors by message, versions, sample
 * ids reaching the prediction log), the registry poll that follows promotions, and the store
 * argument of the serving command line.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import {
  BatchedPredictionLogWriter,
  listPredictionBatches,
  readPredictionBatch,
} from '../../src/knowledge/prediction-log.js';
import type { ModelRegistry } from '../../src/knowledge/model-registry.js';
import type { KnowledgeStore } from '../../src/knowledge/types.js';
import { registryModelSource } from '../../src/serving/model-source.js';
import { ModelServer } from '../../src/serving/server.js';
import { parseStoreArgument, storeArgument } from '../../src/serving/store-config.js';
import { loopingSource } from '../../src/traffic/sources.js';
import { createTrafficActivities } from '../../src/activities/traffic.js';
import { putImageSet } from '../../src/knowledge/image-set.js';
import { formatReport, runTraffic } from '../../src/traffic/traffic-client.js';
import { summarise } from '../../src/traffic/percentiles.js';
import { images, s3Store, seededRegistry, uniqueS3StoreConfig } from './fixtures.js';

const set = (count: number, seed: number, prefix: string) => ({
  count,
  height: 28,
  width: 28,
  pixels: Float32Array.from(images(count, seed)),
  ids: Array.from({ length: count }, (_, i) => `${prefix}-${i}`),
});

describe('traffic client and registry poll against a real model server', () => {
  let store: KnowledgeStore;
  let registry: ModelRegistry;
  let server: ModelServer;
  let log: BatchedPredictionLogWriter;
  let url: string;

  beforeAll(async () => {
    store = s3Store(uniqueS3StoreConfig('traffic'));
    registry = await seededRegistry(store, 'mnist', 2);
    log = new BatchedPredictionLogWriter(store, {
      model: 'mnist',
      batchSize: 1000,
      flushIntervalMs: 0,
      writerId: 'traffic',
    });
    server = new ModelServer({
      modelName: 'mnist',
      source: registryModelSource(registry),
      predictionLog: log,
      pollProductionMs: 100,
      processMetrics: false,
      log: () => undefined,
    });
    url = `http://127.0.0.1:${await server.listen(0)}`;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('sends exactly maxRequests requests of imagesPerRequest images, each image once per round, with its sample id', async () => {
    const report = await runTraffic({
      url,
      model: 'mnist',
      source: loopingSource(set(10, 5, 'tc')),
      imagesPerRequest: 3,
      concurrency: 3,
      maxRequests: 8,
      ratePerSecond: 400,
    });
    // 10 images per round split 3+3+3+1, so 8 requests = 2 rounds (8 requests, 20 images).
    expect(report).toMatchObject({ requests: 8, ok: 8, failed: 0, images: 20, versions: { '1': 8 }, errors: {} });
    expect(report.latencyMs.count).toBe(8);
    expect(report.latencyMs.p50).toBeLessThanOrEqual(report.latencyMs.p99);
    expect(formatReport(report)).toMatch(/requests 8 \(ok 8, failed 0\), images 20/);
    expect(await server.flushPredictionLog()).toBe(0);
    const records = (
      await Promise.all((await listPredictionBatches(store, 'mnist')).map((k) => readPredictionBatch(store, k)))
    ).flat();
    expect(records.map((r) => r.id).sort()).toEqual(
      [
        ...Array.from({ length: 10 }, (_, i) => `tc-${i}-r1`),
        ...Array.from({ length: 10 }, (_, i) => `tc-${i}-r2`),
      ].sort(),
    );
  });

  it('stops when the source ends and counts failures by status and message', async () => {
    const ended = await runTraffic({
      url,
      model: 'mnist',
      source: loopingSource(set(4, 6, 'end'), 1),
      maxRequests: 100,
    });
    expect(ended).toMatchObject({ requests: 4, ok: 4 });
    const wrong = await runTraffic({
      url,
      model: 'cifar',
      source: loopingSource(set(2, 7, 'w')),
      maxRequests: 3,
      concurrency: 1,
    });
    expect(wrong).toMatchObject({
      requests: 3,
      ok: 0,
      failed: 3,
      errors: { '400: unknown model "cifar": this server serves "mnist"': 3 },
    });
    const down = await runTraffic({
      url: 'http://127.0.0.1:1',
      model: 'mnist',
      source: loopingSource(set(1, 8, 'd')),
      maxRequests: 2,
      timeoutMs: 2000,
    });
    expect(down.failed).toBe(2);
    expect(Object.keys(down.errors)[0]).toMatch(/^0: /);
  });

  it('rejects options that make no sense, naming them', async () => {
    const source = loopingSource(set(1, 9, 'x'));
    await expect(runTraffic({ url: 'localhost:8080', model: 'mnist', source, maxRequests: 1 })).rejects.toThrow(
      /traffic\.url must be an http\(s\) URL/,
    );
    await expect(runTraffic({ url, model: 'mnist', source, maxRequests: 1, concurrency: 0 })).rejects.toThrow(
      /traffic\.concurrency must be an integer >= 1, got 0/,
    );
    await expect(runTraffic({ url, model: 'mnist', source })).rejects.toThrow(/needs a stop condition/);
    expect(() => loopingSource({ count: 0, height: 28, width: 28, pixels: new Float32Array(0) })).toThrow(
      /image set is empty/,
    );
  });

  it('has a command line that replays drifting MNIST-C digits and prints the report as JSON', async () => {
    const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/traffic/main.ts',
        '--url',
        url,
        '--model',
        'mnist',
        '--requests',
        '6',
        '--images-per-request',
        '5',
        '--drift',
        '0.5:fog,zigzag',
        '--json',
      ],
      { cwd: repoRoot, env: { ...process.env, NODE_OPTIONS: '' }, timeout: 60_000 },
    );
    const report = JSON.parse(stdout) as { requests: number; ok: number; images: number };
    expect(report).toMatchObject({ requests: 6, ok: 6, images: 30 });
    const bad = promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/traffic/main.ts', '--url', url, '--drift', '0.5:smudge'],
      { cwd: repoRoot, env: { ...process.env, NODE_OPTIONS: '' }, timeout: 60_000 },
    );
    await expect(bad).rejects.toMatchObject({ stderr: expect.stringMatching(/--drift: unknown corruption "smudge"/) });
  });

  it('replays image sets stored in the knowledge base as an activity, each image once', async () => {
    await putImageSet(store, 'traffic/test/batch-0.sfimg', set(5, 21, 'kb0'));
    await putImageSet(store, 'traffic/test/batch-1.sfimg', set(4, 22, 'kb1'));
    const { replayTraffic } = createTrafficActivities({ store });
    const report = await replayTraffic({
      url,
      model: 'mnist',
      datasetKeys: ['traffic/test/batch-0.sfimg', 'traffic/test/batch-1.sfimg'],
      imagesPerRequest: 2,
      concurrency: 2,
    });
    // 5 images → 2+2+1, 4 images → 2+2.
    expect(report).toMatchObject({ requests: 5, ok: 5, images: 9, failed: 0 });
    expect(await server.flushPredictionLog()).toBe(0);
    const records = (
      await Promise.all((await listPredictionBatches(store, 'mnist')).map((k) => readPredictionBatch(store, k)))
    ).flat();
    expect(
      records
        .filter((r) => r.id.startsWith('kb'))
        .map((r) => r.id)
        .sort(),
    ).toEqual(['kb0-0', 'kb0-1', 'kb0-2', 'kb0-3', 'kb0-4', 'kb1-0', 'kb1-1', 'kb1-2', 'kb1-3']);
    await expect(replayTraffic({ url, model: 'mnist', datasetKeys: [] })).rejects.toMatchObject({
      nonRetryable: true,
      message: expect.stringMatching(/datasetKeys must be a non-empty list/),
    });
    await expect(
      replayTraffic({ url, model: 'mnist', datasetKeys: ['traffic/test/absent.sfimg'] }),
    ).rejects.toMatchObject({ nonRetryable: true, type: 'NotFound' });
  });

  it('follows the registry: a newly promoted production version is served without a restart', async () => {
    await registry.promote(2);
    while (server.slot.version !== '2') await new Promise((r) => setTimeout(r, 50));
    const report = await runTraffic({ url, model: 'mnist', source: loopingSource(set(2, 10, 'p')), maxRequests: 2 });
    expect(report.versions).toEqual({ '2': 2 });
  });
});

describe('percentiles', () => {
  it('takes sorted[floor(n·p)] like MLPerf LoadGen', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(summarise(values)).toMatchObject({ count: 100, min: 1, p50: 51, p90: 91, p99: 100, max: 100, mean: 50.5 });
    expect(Number.isNaN(summarise([]).p50)).toBe(true);
  });
});

describe('store argument of the serving command line', () => {
  it('reads directories, file URLs, s3 URLs with credentials from the environment, and JSON', () => {
    expect(parseStoreArgument('/data/kb')).toEqual({ kind: 'local', directory: '/data/kb' });
    expect(parseStoreArgument('file:///data/kb')).toEqual({ kind: 'local', directory: '/data/kb' });
    const env = {
      SCANFLOW_S3_ENDPOINT: 'https://s3.example.com',
      SCANFLOW_S3_ACCESS_KEY: 'k',
      SCANFLOW_S3_SECRET_KEY: 's',
    };
    const s3 = parseStoreArgument('s3://bucket/team/kb', env);
    expect(s3).toEqual({
      kind: 's3',
      endPoint: 's3.example.com',
      port: 443,
      useSSL: true,
      accessKey: 'k',
      secretKey: 's',
      bucket: 'bucket',
      prefix: 'team/kb/',
    });
    const back = storeArgument(s3);
    expect(parseStoreArgument(back.arg, back.env)).toEqual(s3);
    expect(parseStoreArgument('{"kind":"local","directory":"/x"}')).toEqual({ kind: 'local', directory: '/x' });
  });

  it('names what is missing or wrong', () => {
    expect(() => parseStoreArgument('s3://bucket', {})).toThrow(
      /needs SCANFLOW_S3_ENDPOINT, SCANFLOW_S3_ACCESS_KEY and SCANFLOW_S3_SECRET_KEY/,
    );
    expect(() => parseStoreArgument('s3://', {})).toThrow(/no bucket after s3:\/\//);
    expect(() => parseStoreArgument('{"kind":"ftp"}')).toThrow(/"kind": "local" or "s3", got "ftp"/);
    expect(() => parseStoreArgument('{bad')).toThrow(/looks like JSON but does not parse/);
    expect(() =>
      parseStoreArgument('s3://b', {
        SCANFLOW_S3_ENDPOINT: 'nope',
        SCANFLOW_S3_ACCESS_KEY: 'k',
        SCANFLOW_S3_SECRET_KEY: 's',
      }),
    ).toThrow(/SCANFLOW_S3_ENDPOINT must be a URL/);
  });
});
