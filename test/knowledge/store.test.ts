import { afterAll, describe, expect, it } from '@jest/globals';
import { KnowledgeError, type KnowledgeStore } from '../../src/knowledge/types.js';
import { decodeImageSet, getImageSet, putImageSet } from '../../src/knowledge/image-set.js';
import {
  BatchedPredictionLogWriter,
  listPredictionBatches,
  pixelsToBase64,
  readPredictionBatch,
  recordsToImageSet,
} from '../../src/knowledge/prediction-log.js';
import { BACKENDS } from './backends.js';

afterAll(() => BACKENDS.forEach((b) => b.cleanup()));

describe.each(BACKENDS.map((b) => [b.name, b] as const))('knowledge store on %s', (_name, backend) => {
  it('puts, gets, lists, checks and deletes bytes and JSON', async () => {
    const store = backend.open();
    await store.putBytes('artifacts/a/one.bin', new Uint8Array([1, 2, 3]));
    await store.putJson('artifacts/a/two.json', { x: 1, y: [2, 3] });
    await store.putJson('reports/r1.json', { ok: true });
    expect(Array.from(await store.getBytes('artifacts/a/one.bin'))).toEqual([1, 2, 3]);
    expect(await store.getJson('artifacts/a/two.json')).toEqual({ x: 1, y: [2, 3] });
    expect(await store.list('artifacts/')).toEqual(['artifacts/a/one.bin', 'artifacts/a/two.json']);
    expect(await store.list('')).toEqual(['artifacts/a/one.bin', 'artifacts/a/two.json', 'reports/r1.json']);
    expect(await store.exists('reports/r1.json')).toBe(true);
    await store.putJson('reports/r1.json', { ok: false });
    expect(await store.getJson('reports/r1.json')).toEqual({ ok: false });
    await store.delete('reports/r1.json');
    await store.delete('reports/r1.json');
    expect(await store.exists('reports/r1.json')).toBe(false);
  });

  type Operation = (store: KnowledgeStore) => Promise<unknown>;
  it.each<[string, Operation, string, RegExp]>([
    ['a missing key', (s) => s.getBytes('nothing/here.bin'), 'NotFound', /no object nothing\/here\.bin in /],
    [
      'an object that is not JSON',
      async (s) => {
        await s.putBytes('bad.json', Buffer.from('{"half":'));
        return s.getJson('bad.json');
      },
      'Corrupt',
      /bad\.json is not valid JSON/,
    ],
    [
      'a key escaping the store',
      (s) => s.putJson('../escape.json', {}),
      'InvalidInput',
      /"\.\.\/escape\.json" is not a valid store key/,
    ],
    ['an absolute key', (s) => s.getBytes('/abs'), 'InvalidInput', /"\/abs" is not a valid store key/],
    ['a key with an empty segment', (s) => s.exists('a//b'), 'InvalidInput', /"a\/\/b" is not a valid store key/],
    ['a bad list prefix', (s) => s.list('/models/'), 'InvalidInput', /prefix "\/models" is not a valid store key/],
    ['a delete with a dot segment', (s) => s.delete('a/./b'), 'InvalidInput', /"a\/\.\/b" is not a valid store key/],
  ])('names %s', async (_case, operation, code, message) => {
    const err = await operation(backend.open()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KnowledgeError);
    expect(err).toMatchObject({ code, message: expect.stringMatching(message) });
  });

  it('stores image sets and refuses a truncated one', async () => {
    const store = backend.open();
    const pixels = Float32Array.from({ length: 2 * 784 }, (_, i) => (i % 256) / 255);
    await putImageSet(store, 'datasets/x.sfimg', {
      count: 2,
      height: 28,
      width: 28,
      pixels,
      labels: Int32Array.from([3, 9]),
      ids: ['a', 'b'],
    });
    const back = await getImageSet(store, 'datasets/x.sfimg');
    expect(back.count).toBe(2);
    expect(Array.from(back.labels ?? [])).toEqual([3, 9]);
    expect(back.ids).toEqual(['a', 'b']);
    expect(back.pixels[255]).toBeCloseTo(1);
    const bytes = await store.getBytes('datasets/x.sfimg');
    await store.putBytes('datasets/cut.sfimg', bytes.subarray(0, bytes.length - 10));
    await expect(getImageSet(store, 'datasets/cut.sfimg')).rejects.toThrow(
      /cut\.sfimg has 1558 pixel bytes, its header needs 1568/,
    );
    expect(() => decodeImageSet(new Uint8Array([1, 2, 3]))).toThrow(/bad magic/);
    await expect(
      putImageSet(store, 'datasets/y.sfimg', { count: 2, height: 28, width: 28, pixels: new Float32Array(10) }),
    ).rejects.toThrow(/pixels has 10 values, expected count×height×width = 2×28×28 = 1568/);
  });

  it('writes the prediction log in batches and reads the inputs back as images', async () => {
    const store = backend.open();
    const log = new BatchedPredictionLogWriter(store, {
      model: 'mnist-classifier',
      batchSize: 3,
      flushIntervalMs: 0,
      writerId: 'w1',
    });
    const pixels = new Float32Array(784).fill(0.5);
    for (let i = 0; i < 7; i++) {
      log.append({
        id: `p${i}`,
        time: new Date().toISOString(),
        model: 'mnist-classifier',
        modelVersion: 1,
        predicted: i % 10,
        confidence: 0.9,
        pixelsBase64: pixelsToBase64(pixels),
      });
    }
    await log.close();
    const keys = await listPredictionBatches(store, 'mnist-classifier');
    expect(keys).toHaveLength(3);
    const records = (await Promise.all(keys.map((k) => readPredictionBatch(store, k)))).flat();
    expect(records.map((r) => r.id)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    const images = recordsToImageSet(records);
    expect(images.count).toBe(7);
    expect(images.pixels[100]).toBeCloseTo(128 / 255);
    expect(await listPredictionBatches(store, 'mnist-classifier', keys[1])).toEqual([keys[2]]);
    expect(() => log.append({ id: 'x' } as never)).toThrow(/prediction record needs id/);
  });
});
