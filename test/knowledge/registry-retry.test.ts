/**
 * A retried registration (a training activity whose first attempt died, or whose result never
 * reached Temporal) must not add a second candidate: with the same idempotency key, register
 * returns the version the first attempt recorded, or completes the number it reserved.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import type { LayersModel } from '@tensorflow/tfjs-node';
import { ModelRegistry } from '../../src/knowledge/model-registry.js';
import type { KnowledgeStore } from '../../src/knowledge/types.js';
import { BACKENDS } from './backends.js';

afterAll(() => BACKENDS.forEach((b) => b.cleanup()));

/** Placeholder artifacts (no TensorFlow needed); `failSaves` makes the next saves fail like a crashed attempt. */
class TestRegistry extends ModelRegistry {
  failSaves = 0;
  saves: number[] = [];
  constructor(
    private readonly kb: KnowledgeStore,
    model: string,
  ) {
    super(kb, model);
  }
  override async saveModel(_model: LayersModel, version: number): Promise<void> {
    if (this.failSaves > 0) {
      this.failSaves -= 1;
      throw new Error('worker killed while saving artifacts');
    }
    this.saves.push(version);
    await this.kb.putJson(`${this.artifactPrefix(version)}/model.json`, { placeholder: version });
  }
}

const model = { save: () => Promise.resolve({}) } as unknown as LayersModel;
const KEY = 'scanflow.mnist.planner/3f1c-run/7';

describe.each(BACKENDS.map((b) => [b.name, b] as const))('retried register on %s', (_name, backend) => {
  it('returns the first attempt’s version when it already recorded one', async () => {
    const registry = new TestRegistry(backend.open(), 'retried');
    const first = await registry.register({
      model,
      metrics: { accuracy: 0.9 },
      lineage: { datasets: ['a'] },
      idempotencyKey: KEY,
    });
    // The activity's result was lost (worker killed after register): Temporal runs it again.
    const again = await registry.register({
      model,
      metrics: { accuracy: 0.91 },
      lineage: { datasets: ['a'] },
      idempotencyKey: KEY,
    });
    expect(again).toEqual(first);
    expect((await registry.list()).map((v) => [v.version, v.stage])).toEqual([[1, 'candidate']]);
    expect(registry.saves).toEqual([1]);
    // Another registration (another key, or none) gets the next number.
    expect((await registry.register({ model, lineage: { datasets: [] } })).version).toBe(2);
    expect(
      (await registry.register({ model, lineage: { datasets: [] }, idempotencyKey: `${KEY}-other` })).version,
    ).toBe(3);
  });

  it('completes the number the failed attempt reserved, with no gap and no second candidate', async () => {
    const registry = new TestRegistry(backend.open(), 'retried');
    registry.failSaves = 1;
    await expect(registry.register({ model, lineage: { datasets: ['b'] }, idempotencyKey: KEY })).rejects.toThrow(
      /worker killed/,
    );
    const record = await registry.register({ model, lineage: { datasets: ['b'] }, idempotencyKey: KEY });
    expect(record.version).toBe(1);
    expect(record.idempotencyKey).toBe(KEY);
    expect((await registry.list()).map((v) => v.version)).toEqual([1]);
    expect((await registry.register({ model, lineage: { datasets: [] } })).version).toBe(2);
  });

  it('records one candidate when two attempts of one registration run at once', async () => {
    const store = backend.open();
    const [a, b] = [new TestRegistry(store, 'retried'), new TestRegistry(store, 'retried')];
    const [ra, rb] = await Promise.all([
      a.register({ model, lineage: { datasets: [] }, idempotencyKey: KEY }),
      b.register({ model, lineage: { datasets: [] }, idempotencyKey: KEY }),
    ]);
    expect(ra.version).toBe(rb.version);
    expect((await a.list()).length).toBe(1);
  });

  it('refuses an idempotency key that is not a short string', async () => {
    const registry = new TestRegistry(backend.open(), 'retried');
    await expect(
      registry.register({ model, lineage: { datasets: [] }, idempotencyKey: 'x'.repeat(513) }),
    ).rejects.toMatchObject({ code: 'InvalidInput', message: expect.stringMatching(/idempotencyKey/) });
    await expect(
      registry.register({ model, lineage: { datasets: [] }, idempotencyKey: 7 as unknown as string }),
    ).rejects.toMatchObject({ code: 'InvalidInput' });
    expect(await registry.list()).toEqual([]);
  });
});
