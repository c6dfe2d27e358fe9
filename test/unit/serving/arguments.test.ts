/**
 * Bad model-server input, one named row per case: the knowledge store argument (store-config.ts),
 * the command line (server-arguments.ts) and a model version wherever it is read
 * (model-version.ts). Each row asserts the error names the flag, variable or field to fix.
 */
import { describe, expect, it } from '@jest/globals';
import { localModelServerSupport } from '../../../src/serving/local-model-server.js';
import { MODEL_VERSION_ENV, parseModelVersion } from '../../../src/serving/model-version.js';
import { parseServerArguments } from '../../../src/serving/server-arguments.js';
import { modelServerService } from '../../../src/serving/service-spec.js';
import { parseStoreArgument, storeArgument } from '../../../src/serving/store-config.js';
import { usableCpus } from '../../../src/serving/usable-cpus.js';
import { validateUpgrade } from '../../../src/platform/validate.js';

const s3Env = {
  SCANFLOW_S3_ENDPOINT: 'http://127.0.0.1:9000',
  SCANFLOW_S3_ACCESS_KEY: 'key',
  SCANFLOW_S3_SECRET_KEY: 'secret',
};

describe('--store', () => {
  it.each<[string, string, NodeJS.ProcessEnv, RegExp]>([
    ['empty', '  ', {}, /--store is empty/],
    ['JSON that does not parse', '{"kind":', {}, /--store looks like JSON but does not parse/],
    ['JSON without a kind', '{"bucket":"b"}', {}, /--store JSON needs "kind": "local" or "s3", got undefined/],
    ['JSON with an unknown kind', '{"kind":"gcs"}', {}, /--store JSON needs "kind".*got "gcs"/],
    ['s3 without a bucket', 's3://', s3Env, /--store s3:\/\/: no bucket after s3:\/\//],
    ['s3 without an endpoint', 's3://bucket', { ...s3Env, SCANFLOW_S3_ENDPOINT: undefined }, /SCANFLOW_S3_ENDPOINT/],
    ['s3 without an access key', 's3://bucket', { ...s3Env, SCANFLOW_S3_ACCESS_KEY: '' }, /SCANFLOW_S3_ACCESS_KEY/],
    [
      's3 without a secret key',
      's3://bucket',
      { ...s3Env, SCANFLOW_S3_SECRET_KEY: undefined },
      /SCANFLOW_S3_SECRET_KEY/,
    ],
    [
      's3 with an endpoint that is no URL',
      's3://bucket',
      { ...s3Env, SCANFLOW_S3_ENDPOINT: '127.0.0.1:9000' },
      /SCANFLOW_S3_ENDPOINT must be a URL/,
    ],
  ])('%s', (_case, value, env, message) => {
    expect(() => parseStoreArgument(value, env)).toThrow(message);
  });

  it.each<[string, string]>([
    ['a directory', '/tmp/knowledge'],
    ['s3 with a prefix', 's3://bucket/runs/7'],
    ['s3 without a prefix', 's3://bucket'],
  ])('round-trips %s through storeArgument', (_case, value) => {
    const config = parseStoreArgument(value, s3Env);
    const { arg, env } = storeArgument(config);
    expect(parseStoreArgument(arg, { ...s3Env, ...env })).toEqual(config);
  });
});

describe('model-server command line', () => {
  const base = ['--store', '/tmp/knowledge', '--model', 'mnist'];
  it.each<[string, string[], NodeJS.ProcessEnv, RegExp]>([
    ['no store', ['--model', 'mnist'], {}, /--store is required \(or SCANFLOW_STORE\)/],
    ['no model', ['--store', '/tmp/k'], {}, /--model is required \(or SCANFLOW_MODEL\)/],
    ['unknown flag', [...base, '--turbo'], {}, /turbo/],
    ['port not a number', [...base, '--port', 'http'], {}, /--port must be an integer >= 0, got "http"/],
    ['negative port', [...base, '--port=-1'], {}, /--port must be an integer >= 0/],
    ['port from the environment not a number', base, { SCANFLOW_SERVING_PORT: 'x' }, /--port must be an integer/],
    [
      'version 0',
      [...base, '--version', '0'],
      {},
      /--version must be a positive integer, "production" or "none", got "0"/,
    ],
    ['version a word', [...base, '--version', 'latest'], {}, /--version must be a positive integer/],
    ['version from the environment', base, { [MODEL_VERSION_ENV]: 'v2' }, /--version must be a positive integer.*"v2"/],
    ['max batch 0', [...base, '--max-batch', '0'], {}, /--max-batch must be an integer >= 1, got "0"/],
    ['max wait fractional', [...base, '--max-wait-ms', '1.5'], {}, /--max-wait-ms must be an integer >= 0/],
    ['unknown batch wait policy', [...base, '--batch-wait', 'never'], {}, /--batch-wait must be "arrivals" or "fixed"/],
    ['poll interval negative', [...base, '--poll-ms=-10'], {}, /--poll-ms must be an integer >= 0/],
    ['log batch 0', [...base, '--log-batch', '0'], {}, /--log-batch must be an integer >= 1/],
    ['log flush empty', [...base, '--log-flush-ms', ''], {}, /--log-flush-ms must be an integer >= 0, got ""/],
    ['workers a word', [...base, '--workers', 'two'], {}, /--workers must be an integer >= 1 or "auto", got "two"/],
    ['workers 0 from the environment', base, { SCANFLOW_SERVING_WORKERS: '0' }, /--workers must be an integer >= 1/],
  ])('%s', (_case, args, env, message) => {
    expect(() => parseServerArguments(args, env)).toThrow(message);
  });

  it('reads the defaults, and the version from the shared environment variable as a number', () => {
    expect(parseServerArguments(base, { [MODEL_VERSION_ENV]: '3' })).toEqual({
      store: { kind: 'local', directory: '/tmp/knowledge' },
      model: 'mnist',
      port: 8080,
      host: '127.0.0.1',
      workers: 1,
      initialVersion: 3,
      batching: { maxBatchSize: 256, maxWaitMs: 2, wait: 'arrivals' },
      pollProductionMs: 0,
      drainMs: 0,
      predictionLog: { batchSize: 200, flushIntervalMs: 2000 },
      logPixels: true,
    });
  });

  it('starts one process per usable CPU with --workers auto', () => {
    expect(parseServerArguments([...base, '--workers', 'auto'], {}).workers).toBe(usableCpus());
    expect(parseServerArguments(base, { SCANFLOW_SERVING_WORKERS: 'auto' }).workers).toBe(usableCpus());
  });

  it('drains for 3 s by default when reachable beyond loopback (behind a Service), never on loopback', () => {
    expect(parseServerArguments([...base, '--host', '0.0.0.0'], {}).drainMs).toBe(3000);
    expect(parseServerArguments([...base, '--host', '0.0.0.0'], { SCANFLOW_SERVING_DRAIN_MS: '0' }).drainMs).toBe(0);
    expect(parseServerArguments([...base, '--drain-ms', '500'], {}).drainMs).toBe(500);
    expect(() => parseServerArguments([...base, '--drain-ms', 'soon'], {})).toThrow(
      '--drain-ms must be an integer >= 0',
    );
  });

  it('serves what the platform service spec configures, with no flags', () => {
    const spec = modelServerService({
      name: 'model',
      store: { kind: 'local', directory: '/tmp/knowledge' },
      model: 'mnist',
      replicas: 1,
      version: 4,
    });
    const parsed = parseServerArguments(spec.args ?? [], spec.env);
    expect(parsed).toMatchObject({ model: 'mnist', initialVersion: 4, host: '0.0.0.0', port: 8080 });
  });
});

describe('model version', () => {
  it.each<[string, unknown, readonly ('production' | 'none')[], RegExp]>([
    ['zero', 0, [], /^v must be a positive integer, got 0$/],
    ['negative', -2, ['production'], /^v must be a positive integer or "production", got -2$/],
    ['fractional', 1.5, [], /got 1.5/],
    ['text with a sign', '+3', [], /got "\+3"/],
    ['text with a leading zero', '03', [], /got "03"/],
    ['text with spaces', ' 3 ', [], /got " 3 "/],
    ['empty text', '', ['production', 'none'], /^v must be a positive integer, "production" or "none", got ""$/],
    ['a keyword not allowed here', 'none', ['production'], /got "none"/],
    ['null', null, [], /got null/],
    ['missing', undefined, [], /got undefined/],
  ])('refuses %s', (_case, value, keywords, message) => {
    expect(() => parseModelVersion(value, 'v', keywords)).toThrow(message);
  });

  it.each<[string, unknown, number | string]>([
    ['a number', 7, 7],
    ['its decimal text', '12', 12],
    ['an allowed keyword', 'production', 'production'],
  ])('reads %s', (_case, value, expected) => {
    expect(parseModelVersion(value, 'v', ['production'])).toBe(expected);
  });
});

describe('in-place model switch handed to the local platform', () => {
  const { inPlaceUpgrade } = localModelServerSupport();
  const served = modelServerService({
    name: 'model',
    store: { kind: 'local', directory: '/tmp/knowledge' },
    model: 'mnist',
    replicas: 1,
  });
  const plan = (env: Record<string, string | number>, extra: Record<string, unknown> = {}) =>
    inPlaceUpgrade.plan(served, validateUpgrade({ env, ...extra }));

  it.each<[string, Record<string, string | number>, Record<string, unknown>]>([
    ['another variable too', { [MODEL_VERSION_ENV]: 2, NOTE: 'x' }, {}],
    ['a new image too', { [MODEL_VERSION_ENV]: 2 }, { image: 'scanflow/model-server:0.2.0' }],
    ['no version at all', { NOTE: 'x' }, {}],
  ])('rolls the replicas instead when the change has %s', (_case, env, extra) => {
    expect(plan(env, extra)).toBeUndefined();
  });

  it('switches in place for a version alone, given as a number or as text', () => {
    expect(plan({ [MODEL_VERSION_ENV]: 3 })?.description).toBe('model version 3');
    expect(plan({ [MODEL_VERSION_ENV]: '3' })?.description).toBe('model version 3');
  });

  it('names the variable when the version is bad', () => {
    expect(() => plan({ [MODEL_VERSION_ENV]: '' })).toThrow(
      /env\.SCANFLOW_MODEL_VERSION must be a positive integer or "production", got ""/,
    );
  });

  it('leaves a service without the admin annotation to a rolling update', () => {
    const plain = { ...served, annotations: {} };
    expect(inPlaceUpgrade.plan(plain, validateUpgrade({ env: { [MODEL_VERSION_ENV]: 2 } }))).toBeUndefined();
  });
});
