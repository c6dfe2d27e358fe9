// Model registry operations with bad arguments, one named row per case: each asserts the error
// code (InvalidInput / NotFound / RegistryRule / Corrupt) and a message naming the culprit, and
// that a refused operation leaves the registry as it was. The registry document is written
// directly into a local directory store, so no model (and no TensorFlow) is needed.
import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-node';
import { LocalDirectoryStore } from '../../../src/knowledge/local-store.js';
import { ModelRegistry } from '../../../src/knowledge/model-registry.js';
import { KnowledgeError, type ModelVersionRecord, type RegisterVersionInput } from '../../../src/knowledge/types.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const MODEL = 'mnist-classifier';
const version = (n: number, stage: ModelVersionRecord['stage'], metrics: Record<string, number>) => ({
  model: MODEL,
  version: n,
  stage,
  metrics,
  lineage: { datasets: [] },
  artifactPrefix: `models/${MODEL}/v${n}`,
  createdAt: '2026-01-01T00:00:00.000Z',
});
/** v1 in production, v2 a candidate without metrics, v3 archived. */
const DOCUMENT = {
  model: MODEL,
  revision: 3,
  nextVersion: 4,
  versions: [
    version(1, 'production', { accuracy: 0.98 }),
    version(2, 'candidate', {}),
    version(3, 'archived', { accuracy: 0.97 }),
  ],
};

let store: LocalDirectoryStore;
let registry: ModelRegistry;
beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scanflow-registry-unit-'));
  dirs.push(dir);
  store = new LocalDirectoryStore(dir);
  await store.putJson(`models/${MODEL}/registry.json`, DOCUMENT);
  registry = new ModelRegistry(store, MODEL);
});

async function refusal(work: () => unknown): Promise<KnowledgeError> {
  try {
    await work();
  } catch (err) {
    expect(err).toBeInstanceOf(KnowledgeError);
    return err as KnowledgeError;
  }
  throw new Error('expected a KnowledgeError, nothing was thrown');
}

/** A stand-in that passes register's shape check; register must refuse before saving it. */
const fakeModel = { save: () => Promise.resolve() } as unknown as LayersModel;

type Operation = (r: ModelRegistry, v: number) => Promise<unknown>;
const OPERATIONS: [string, Operation][] = [
  ['get', (r, v) => r.get(v)],
  ['promote', (r, v) => r.promote(v)],
  ['archive', (r, v) => r.archive(v)],
  ['recordMetrics', (r, v) => r.recordMetrics(v, { accuracy: 0.9 })],
  ['loadModel', (r, v) => r.loadModel(v)],
  ['saveModel', (r, v) => r.saveModel(fakeModel, v)],
];
const BAD_VERSIONS: [string, unknown, string][] = [
  ['zero', 0, '0'],
  ['negative', -1, '-1'],
  ['fractional', 1.5, '1.5'],
  ['NaN', NaN, 'null'],
  ['a string', '2', '"2"'],
  ['null', null, 'null'],
];

describe('model registry with bad arguments', () => {
  it.each(
    OPERATIONS.flatMap(([op, run]) =>
      BAD_VERSIONS.map(([what, v, shown]) => [`${op} with a ${what} version`, run, v, shown] as const),
    ),
  )('%s is InvalidInput, naming the version', async (_case, run, v, shown) => {
    const err = await refusal(() => run(registry, v as number));
    expect(err.code).toBe('InvalidInput');
    expect(err.message).toBe(`model version must be a positive integer, got ${shown}`);
  });

  it.each(OPERATIONS.filter(([op]) => op !== 'saveModel'))(
    '%s of an unknown version is NotFound, listing the versions there are',
    async (_op, run) => {
      const err = await refusal(() => run(registry, 7));
      expect(err.code).toBe('NotFound');
      expect(err.message).toBe('model mnist-classifier has no version 7 (versions: 1, 2, 3)');
    },
  );

  it.each<[string, Operation, RegExp]>([
    ['promoting a version without metrics', (r) => r.promote(2), /version 2 has no metrics: evaluate it/],
    ['promoting an archived version', (r) => r.promote(3), /version 3 is archived and cannot be promoted/],
    ['archiving the production version', (r) => r.archive(1), /version 1 is in production: promote another/],
  ])('refuses %s (RegistryRule)', async (_case, run, message) => {
    const err = await refusal(() => run(registry, 0));
    expect(err.code).toBe('RegistryRule');
    expect(err.message).toMatch(message);
  });

  it.each<[string, unknown, RegExp]>([
    ['a NaN metric', { accuracy: NaN }, /metric accuracy must be a finite number, got null/],
    ['an infinite metric', { loss: Infinity }, /metric loss must be a finite number, got null/],
    ['a metric given as text', { accuracy: '0.9' }, /metric accuracy must be a finite number, got "0\.9"/],
    ['metrics as a list', [0.9], /metrics must be an object of name → finite number/],
    ['no metrics', null, /metrics must be an object of name → finite number/],
  ])('recordMetrics refuses %s (InvalidInput)', async (_case, metrics, message) => {
    const err = await refusal(() => registry.recordMetrics(2, metrics as Record<string, number>));
    expect(err.code).toBe('InvalidInput');
    expect(err.message).toMatch(message);
  });

  it.each<[string, unknown, RegExp]>([
    ['no input', undefined, /register needs a tfjs LayersModel in input\.model/],
    ['no model', { lineage: { datasets: [] } }, /register needs a tfjs LayersModel/],
    ['a model that cannot be saved', { model: {}, lineage: { datasets: [] } }, /register needs a tfjs LayersModel/],
    ['no lineage', { model: fakeModel }, /register needs lineage\.datasets/],
    ['lineage without datasets', { model: fakeModel, lineage: {} }, /register needs lineage\.datasets/],
    [
      'a non-finite metric',
      { model: fakeModel, metrics: { accuracy: NaN }, lineage: { datasets: [] } },
      /metric accuracy must be a finite number/,
    ],
  ])('register refuses %s before writing anything', async (_case, input, message) => {
    const err = await refusal(() => registry.register(input as RegisterVersionInput));
    expect(err.code).toBe('InvalidInput');
    expect(err.message).toMatch(message);
    expect(await store.getJson(`models/${MODEL}/registry.json`)).toEqual(DOCUMENT);
  });

  it.each([
    ['empty', ''],
    ['upper case', 'MNIST'],
    ['an underscore', 'mnist_classifier'],
    ['a slash', 'models/mnist'],
    ['a leading dash', '-mnist'],
    ['64 characters', 'm'.repeat(64)],
    ['not a string', 42],
  ])('refuses a model name with %s', async (_case, name) => {
    const err = await refusal(() => new ModelRegistry(store, name as string));
    expect(err.code).toBe('InvalidInput');
    expect(err.message).toBe(`model name must be lower-case letters, digits and '-', got ${JSON.stringify(name)}`);
  });

  it.each<[string, unknown]>([
    ['another model’s document', { ...DOCUMENT, model: 'mnist-detector' }],
    ['no version list', { ...DOCUMENT, versions: undefined }],
    ['no next version', { ...DOCUMENT, nextVersion: 'four' }],
    ['a JSON null', null],
  ])('names a registry document with %s as Corrupt', async (_case, document) => {
    await store.putJson(`models/${MODEL}/registry.json`, document);
    const err = await refusal(() => registry.list());
    expect(err.code).toBe('Corrupt');
    expect(err.message).toMatch(/registry\.json is not a registry document of model mnist-classifier/);
  });

  it('leaves production and the document untouched after every refusal', async () => {
    for (const run of [
      () => registry.promote(2),
      () => registry.promote(3),
      () => registry.archive(1),
      () => registry.promote(0),
      () => registry.recordMetrics(7, { accuracy: 1 }),
    ])
      await refusal(run);
    expect((await registry.production())?.version).toBe(1);
    expect(await store.getJson(`models/${MODEL}/registry.json`)).toEqual(DOCUMENT);
  });
});
