// Dataset references the ML activities accept, and the label budget: one named row per bad input,
// each asserting an error that names the reference (or value) and what is wrong with it.
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveDataset } from '../../../src/activities/ml/datasets.js';
import { labelIds, setBudget } from '../../../src/activities/ml/label-oracle.js';
import { LocalDirectoryStore } from '../../../src/knowledge/local-store.js';
import { KnowledgeError } from '../../../src/knowledge/types.js';
import { InvalidInputError } from '../../../src/ml/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'scanflow-datasets-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = new LocalDirectoryStore(dir);

describe('dataset references', () => {
  it.each<[string, unknown, RegExp]>([
    ['empty', '', /dataset reference must be a non-empty string, got ""/],
    ['not a string', 7, /dataset reference must be a non-empty string, got 7/],
    ['an unknown MNIST split', 'mnist:valid', /dataset mnist:valid: split must be 'train' or 'test'/],
    ['a zero limit', 'mnist:test:0', /dataset mnist:test:0: limit must be a positive integer, got "0"/],
    ['a limit that is not a number', 'mnist:test:ten', /limit must be a positive integer, got "ten"/],
    ['a fractional limit', 'mnist:train:2.5', /limit must be a positive integer, got "2\.5"/],
    [
      'an unknown case-study split',
      'case-study:holdout',
      /dataset case-study:holdout: expected case-study:reference or case-study:traffic/,
    ],
    ['an unknown corruption', 'mnist-c:smoke:test', /unknown corruption "smoke" \(known: shot_noise, /],
    ['MNIST-C on the train split', 'mnist-c:fog:train', /MNIST-C references use the test split: mnist-c:fog:test/],
    ['MNIST-C with a bad limit', 'mnist-c:fog:test:-3', /limit must be a positive integer, got "-3"/],
  ])('refuses %s as InvalidInput', async (_case, ref, message) => {
    const err = await resolveDataset(store, ref as string).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(message);
  });

  it.each<[string, string, string, RegExp]>([
    ['a missing store key', 'picked/none.sfimg', 'NotFound', /no object picked\/none\.sfimg in file:/],
    ['an invalid store key', 'picked//x.sfimg', 'InvalidInput', /"picked\/\/x\.sfimg" is not a valid store key/],
  ])('names %s as a KnowledgeError', async (_case, ref, code, message) => {
    const err = await resolveDataset(store, ref).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KnowledgeError);
    expect(err).toMatchObject({ code, message: expect.stringMatching(message) });
  });
});

describe('label budget', () => {
  it.each([
    ['negative', -1],
    ['fractional', 2.5],
    ['not a number', Number.NaN],
  ])('refuses a %s budget', async (_case, budget) => {
    await expect(setBudget(store, budget)).rejects.toMatchObject({
      code: 'InvalidInput',
      message: `label budget must be a non-negative integer, got ${budget}`,
    });
  });

  it.each([
    ['more labels than the budget', 3, /label budget exceeded: asked for 3 labels, 2 of 2 left/],
    [
      'labels of images the oracle never saw',
      1,
      /the oracle has no label for image id-0 \(searched traffic\/b1\.sfimg\)/,
    ],
  ])('refuses %s, spending nothing', async (_case, n, message) => {
    await setBudget(store, 2);
    await store.putJson('oracle/truth/traffic_b1.sfimg.json', { batchKey: 'traffic/b1.sfimg', truth: {} });
    const ids = Array.from({ length: n }, (_, i) => `id-${i}`);
    await expect(labelIds(store, ['traffic/b1.sfimg'], ids)).rejects.toThrow(message);
    expect(await store.getJson('oracle/budget.json')).toEqual({ budget: 2, used: 0 });
  });
});
