import { afterAll, describe, expect, it } from '@jest/globals';
import { ModelRegistry } from '../../src/knowledge/model-registry.js';
import type { KnowledgeStore } from '../../src/knowledge/types.js';
import { tensorflow } from '../../src/ml/tf.js';
import { BACKENDS } from './backends.js';

afterAll(() => BACKENDS.forEach((b) => b.cleanup()));

function tinyModel(seed: number) {
  const tf = tensorflow();
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [4], units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
    ],
  });
  model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  return model;
}

async function outputOf(
  model: ReturnType<typeof tinyModel> | Awaited<ReturnType<ModelRegistry['loadModel']>>,
): Promise<number[]> {
  const tf = tensorflow();
  const x = tf.tensor2d([[1, 2, 3, 4]]);
  const y = model.predict(x) as ReturnType<typeof tf.tensor2d>;
  const out = Array.from(await y.data());
  x.dispose();
  y.dispose();
  return out;
}

describe.each(BACKENDS.map((b) => [b.name, b] as const))('model registry on %s', (_name, backend) => {
  it('registers candidates, promotes atomically, archives the previous production version', async () => {
    const registry = new ModelRegistry(backend.open(), 'mnist-classifier');
    expect(await registry.production()).toBeUndefined();
    const v1 = await registry.register({
      model: tinyModel(1),
      metrics: { accuracy: 0.98 },
      lineage: { datasets: ['mnist/train'], seed: 1 },
    });
    const v2 = await registry.register({ model: tinyModel(2), lineage: { datasets: ['picked/b1'], parentVersion: 1 } });
    expect([v1.version, v1.stage, v2.version, v2.stage]).toEqual([1, 'candidate', 2, 'candidate']);
    await registry.promote(1);
    expect((await registry.production())?.version).toBe(1);
    await registry.recordMetrics(2, { accuracy: 0.99 });
    const promoted = await registry.promote(2);
    expect(promoted.stage).toBe('production');
    expect((await registry.get(1)).stage).toBe('archived');
    expect((await registry.list()).map((v) => [v.version, v.stage])).toEqual([
      [1, 'archived'],
      [2, 'production'],
    ]);
    // Promoting the production version again is a no-op (a retried activity).
    expect((await registry.promote(2)).promotedAt).toBe(promoted.promotedAt);
    expect((await registry.get(2)).lineage).toEqual({ datasets: ['picked/b1'], parentVersion: 1 });
  });

  it('refuses a version without metrics, an archived or unknown version, and never changes production when it refuses', async () => {
    const store: KnowledgeStore = backend.open();
    const registry = new ModelRegistry(store, 'mnist-classifier');
    await registry.register({ model: tinyModel(1), metrics: { accuracy: 0.9 }, lineage: { datasets: [] } });
    await registry.promote(1);
    await registry.register({ model: tinyModel(2), lineage: { datasets: [] } });
    await expect(registry.promote(2)).rejects.toMatchObject({
      code: 'RegistryRule',
      message: expect.stringMatching(/version 2 has no metrics/),
    });
    await expect(registry.promote(7)).rejects.toMatchObject({
      code: 'NotFound',
      message: expect.stringMatching(/has no version 7 \(versions: 1, 2\)/),
    });
    await expect(registry.promote(0)).rejects.toThrow(/positive integer/);
    await expect(registry.recordMetrics(2, { accuracy: NaN })).rejects.toThrow(
      /metric accuracy must be a finite number/,
    );
    await expect(registry.archive(1)).rejects.toThrow(/is in production/);
    await registry.archive(2);
    await registry.recordMetrics(2, { accuracy: 0.95 });
    await expect(registry.promote(2)).rejects.toThrow(/archived and cannot be promoted/);
    expect((await registry.production())?.version).toBe(1);
    // A concurrent burst of promotions in one process is applied one at a time, in call order:
    // 3, then 4 (archiving 3), then 3 again is refused because it is archived now.
    await registry.register({ model: tinyModel(3), metrics: { accuracy: 0.97 }, lineage: { datasets: [] } });
    await registry.register({ model: tinyModel(4), metrics: { accuracy: 0.96 }, lineage: { datasets: [] } });
    const outcomes = await Promise.allSettled([registry.promote(3), registry.promote(4), registry.promote(3)]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((await registry.list()).filter((v) => v.stage === 'production').map((v) => v.version)).toEqual([4]);
  });

  it('saves and loads tfjs models through the store, and reports a corrupt artifact', async () => {
    const store = backend.open();
    const registry = new ModelRegistry(store, 'mnist-detector');
    const model = tinyModel(5);
    const record = await registry.register({ model, metrics: { auroc: 0.9 }, lineage: { datasets: [] } });
    const loaded = await registry.loadModel(record.version);
    expect(await outputOf(loaded)).toEqual(await outputOf(model));
    await expect(registry.loadModel(9)).rejects.toThrow(/model mnist-detector has no version 9/);
    const weights = await store.getBytes(`${record.artifactPrefix}/weights.bin`);
    await store.putBytes(`${record.artifactPrefix}/weights.bin`, weights.subarray(0, 8));
    await expect(registry.loadModel(record.version)).rejects.toMatchObject({
      code: 'Corrupt',
      message: expect.stringMatching(/weights\.bin has 8 bytes, the manifest needs 60/),
    });
    await store.putBytes('models/mnist-detector/registry.json', Buffer.from('not json'));
    await expect(registry.production()).rejects.toMatchObject({ code: 'Corrupt' });
    expect(() => new ModelRegistry(store, 'Bad Name')).toThrow(/model name must be lower-case/);
  });
});

describe('registry when the store fails mid-operation', () => {
  it('leaves the production version unchanged when the write of a promotion fails', async () => {
    const backend = BACKENDS[0];
    if (!backend) throw new Error('no local backend');
    const real = backend.open();
    const registry = new ModelRegistry(real, 'mnist-classifier');
    await registry.register({ model: tinyModel(1), metrics: { accuracy: 0.9 }, lineage: { datasets: [] } });
    await registry.register({ model: tinyModel(2), metrics: { accuracy: 0.95 }, lineage: { datasets: [] } });
    await registry.promote(1);
    // The same real store, with its writes failing (a full disk, a lost connection).
    const failing: KnowledgeStore = Object.assign(Object.create(Object.getPrototypeOf(real)) as KnowledgeStore, real, {
      putJson: async () => {
        throw new Error('disk full');
      },
      // The registry writes its document with a compare-and-swap.
      putIfUnchanged: async () => {
        throw new Error('disk full');
      },
    });
    await expect(new ModelRegistry(failing, 'mnist-classifier').promote(2)).rejects.toThrow(/disk full/);
    expect((await registry.production())?.version).toBe(1);
    expect((await registry.get(2)).stage).toBe('candidate');
  });
});
