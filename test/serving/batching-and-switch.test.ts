/**
 * The two mechanisms behind "no dropped request": the dynamic batcher (whole requests merged up
 * to a batch size, one model call at a time) and the model slot (a version in use is disposed
 * only after its last request), driven with real tfjs models on the native backend.
 */
import { describe, expect, it } from '@jest/globals';
import { DynamicBatcher, type Batch } from '../../src/serving/batcher.js';
import { ModelSlot } from '../../src/serving/model-slot.js';
import { servableFromLayersModel, type ServableModel } from '../../src/serving/servable-model.js';
import { tensorflow } from '../../src/ml/tf.js';
import { images, tinyClassifier } from './fixtures.js';

/** A real servable model whose predict waits for `open()` first, to hold a request in flight. */
function gatedServable(
  seed: number,
  version: string,
): ServableModel & { open(): void; disposed: boolean; calls: number } {
  const real = servableFromLayersModel(tinyClassifier(seed), version);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const wrapped = {
    version,
    disposed: false,
    calls: 0,
    open: () => release(),
    async predict(pixels: Float32Array, count: number) {
      wrapped.calls += 1;
      await gate;
      if (wrapped.disposed) throw new Error(`version ${version} was used after dispose`);
      return real.predict(pixels, count);
    },
    dispose() {
      wrapped.disposed = true;
      real.dispose();
    },
  };
  return wrapped;
}

describe('dynamic batcher', () => {
  const collect = () => {
    const batches: Array<Batch<string>> = [];
    const run = async (batch: Batch<string>) => {
      batches.push(batch);
      return batch.parts.map((p) => `${p.meta}@${p.offset}+${p.count}`);
    };
    return { batches, run };
  };

  it('merges whole concurrent requests up to maxBatchSize images, in arrival order', async () => {
    const { batches, run } = collect();
    const batcher = new DynamicBatcher({ maxBatchSize: 6, maxWaitMs: 10_000 }, run);
    const results = await Promise.all([
      batcher.submit(new Float32Array(2 * 784).fill(0.1), 2, 'a'),
      batcher.submit(new Float32Array(3 * 784).fill(0.2), 3, 'b'),
      batcher.submit(new Float32Array(1 * 784).fill(0.3), 1, 'c'),
      batcher.submit(new Float32Array(4 * 784).fill(0.4), 4, 'd'),
    ]);
    // a+b+c reach 6 images and run at once (no 10 s wait); d runs alone after them.
    expect(results).toEqual(['a@0+2', 'b@2+3', 'c@5+1', 'd@0+4']);
    expect(batches.map((b) => b.count)).toEqual([6, 4]);
    expect(batches[0]!.images[2 * 784]).toBeCloseTo(0.2);
    expect(batches[0]!.images[5 * 784]).toBeCloseTo(0.3);
  });

  it('with maxWaitMs 0 merges requests of the same event-loop turn and those that queue while the model is busy', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const busy = new Promise<void>((r) => (release = r));
    const batcher = new DynamicBatcher<number, number>({ maxBatchSize: 100, maxWaitMs: 0 }, async (batch) => {
      batches.push(batch.parts.map((p) => p.meta));
      if (batches.length === 1) await busy;
      return batch.parts.map((p) => p.meta);
    });
    const first = [1, 2].map((i) => batcher.submit(new Float32Array(784), 1, i));
    await new Promise((r) => setImmediate(r));
    const later = [3, 4, 5].map((i) => batcher.submit(new Float32Array(784), 1, i));
    release();
    expect(await Promise.all([...first, ...later])).toEqual([1, 2, 3, 4, 5]);
    expect(batches).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it("with the 'arrivals' policy waits for a request still being received, and only for it", async () => {
    const batches: number[][] = [];
    const batcher = new DynamicBatcher<number, number>(
      { maxBatchSize: 100, maxWaitMs: 60_000, wait: 'arrivals' },
      async (batch) => {
        batches.push(batch.parts.map((p) => p.meta));
        return batch.parts.map((p) => p.meta);
      },
    );
    // Nothing else arriving: runs on the next turn, not after 60 s.
    expect(await batcher.submit(new Float32Array(784), 1, 1)).toBe(1);
    const arrival = batcher.arrive();
    const first = batcher.submit(new Float32Array(784), 1, 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(batches).toEqual([[1]]);
    const second = batcher.submit(new Float32Array(784), 1, 3);
    arrival.done();
    expect(await Promise.all([first, second])).toEqual([2, 3]);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it('runs a request larger than maxBatchSize alone instead of splitting it', async () => {
    const { batches, run } = collect();
    const batcher = new DynamicBatcher({ maxBatchSize: 2, maxWaitMs: 0 }, run);
    await Promise.all([
      batcher.submit(new Float32Array(5 * 784), 5, 'big'),
      batcher.submit(new Float32Array(784), 1, 'small'),
    ]);
    expect(batches.map((b) => b.parts.map((p) => p.meta))).toEqual([['big'], ['small']]);
  });

  it('fails only the request whose result is an error, and every request of a batch that throws', async () => {
    let throwAll = false;
    const batcher = new DynamicBatcher<string, string>({ maxBatchSize: 10, maxWaitMs: 10_000 }, async (batch) => {
      if (throwAll) throw new Error('model call failed');
      return batch.parts.map((p) => (p.meta === 'bad' ? new Error('bad part') : p.meta));
    });
    const one = [batcher.submit(new Float32Array(784), 1, 'ok'), batcher.submit(new Float32Array(784), 1, 'bad')];
    const last = batcher.submit(new Float32Array(8 * 784), 8, 'fills-the-batch');
    await expect(one[0]).resolves.toBe('ok');
    await expect(one[1]).rejects.toThrow('bad part');
    await expect(last).resolves.toBe('fills-the-batch');
    throwAll = true;
    await expect(batcher.submit(new Float32Array(10 * 784), 10, 'x')).rejects.toThrow('model call failed');
  });

  it('rejects nonsensical options by name', () => {
    const run = async () => [];
    expect(() => new DynamicBatcher({ maxBatchSize: 0, maxWaitMs: 1 }, run)).toThrow(
      /maxBatchSize must be an integer >= 1, got 0/,
    );
    expect(() => new DynamicBatcher({ maxBatchSize: 4, maxWaitMs: -1 }, run)).toThrow(
      /maxWaitMs must be a number >= 0, got -1/,
    );
    expect(() => new DynamicBatcher({ maxBatchSize: 4, maxWaitMs: 1, wait: 'lazy' as 'fixed' }, run)).toThrow(
      /wait must be "arrivals" or "fixed", got "lazy"/,
    );
  });
});

describe('model slot', () => {
  it('lets an in-flight request finish on the old version and disposes it only afterwards', async () => {
    const v1 = gatedServable(1, '1');
    const v2 = gatedServable(2, '2');
    v2.open();
    const slot = new ModelSlot();
    slot.swap(v1);
    const pixels = Float32Array.from(images(2));

    const lease = slot.acquire();
    const inFlight = lease.model.predict(pixels, 2).finally(() => lease.release());
    slot.swap(v2);
    expect(slot.version).toBe('2');
    expect(slot.loadedVersions).toEqual(['2', '1']);
    expect(v1.disposed).toBe(false);

    const next = slot.acquire();
    const answer2 = await next.model.predict(pixels, 2);
    next.release();
    expect(next.model.version).toBe('2');

    v1.open();
    const answer1 = await inFlight;
    expect(answer1.labels).toHaveLength(2);
    expect(Array.from(answer1.probabilities)).not.toEqual(Array.from(answer2.probabilities));
    expect(v1.disposed).toBe(true);
    expect(slot.loadedVersions).toEqual(['2']);
    slot.clear();
    expect(v2.disposed).toBe(true);
    expect(() => slot.acquire()).toThrow(/no model version is loaded/);
  });

  it('rejects a model whose input or output shape is not an MNIST classifier', () => {
    const tf = tensorflow();
    const wrongOut = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [28, 28, 1] }), tf.layers.dense({ units: 3 })],
    });
    expect(() => servableFromLayersModel(wrongOut, '5')).toThrow(
      /model version 5: output shape \[null,3\] is not \[n, 10\]/,
    );
    wrongOut.dispose();
  });
});
