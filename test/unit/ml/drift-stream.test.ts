import { describe, expect, it } from '@jest/globals';
import { DriftStream } from '../../../src/ml/drift-stream.js';
import { loadMnist } from '../../../src/ml/mnist.js';

const source = loadMnist('test', 500);
const schedule = [
  { fromBatch: 0, share: 0, corruptions: [] },
  { fromBatch: 2, share: 0.3, corruptions: ['fog' as const, 'zigzag' as const] },
  { fromBatch: 4, share: 0.8, corruptions: ['canny_edges' as const] },
];

describe('drift stream', () => {
  it('follows the schedule: clean first, then the stated share of the stated corruptions', () => {
    const stream = new DriftStream({ seed: 1, batchSize: 50, schedule, source }, 100);
    const batches = Array.from({ length: 5 }, () => stream.next());
    expect(batches.map((b) => b.kinds.filter((k) => k !== 'clean').length)).toEqual([0, 0, 15, 15, 40]);
    expect(new Set(batches[2]?.kinds)).toEqual(new Set(['clean', 'fog', 'zigzag']));
    expect(new Set(batches[4]?.kinds.filter((k) => k !== 'clean'))).toEqual(new Set(['canny_edges']));
    expect(batches[0]?.images.labels).toBeUndefined();
    expect(batches[3]?.images.ids?.[7]).toBe('b3-7');
  });

  it('regenerates any batch identically from the seed, and differs with another seed', () => {
    const a = new DriftStream({ seed: 9, batchSize: 20, schedule, source }, 0).batch(3);
    const b = new DriftStream({ seed: 9, batchSize: 20, schedule, source }, 0).batch(3);
    const c = new DriftStream({ seed: 10, batchSize: 20, schedule, source }, 0).batch(3);
    expect(a.images.pixels).toEqual(b.images.pixels);
    expect(a.kinds).toEqual(b.kinds);
    expect(a.images.pixels).not.toEqual(c.images.pixels);
  });

  it('keeps true labels in the oracle and enforces the label budget', () => {
    const stream = new DriftStream({ seed: 2, batchSize: 10, schedule, source }, 5);
    const batch = stream.next();
    const labels = stream.oracle.label(batch.images.ids?.slice(0, 3) ?? []);
    expect(labels.length).toBe(3);
    expect(Array.from(labels).every((l) => l >= 0 && l <= 9)).toBe(true);
    expect(stream.oracle.remaining).toBe(2);
    expect(() => stream.oracle.label(batch.images.ids?.slice(3, 6) ?? [])).toThrow(
      /label budget exceeded: asked for 3 labels, 2 of 5 left/,
    );
    expect(stream.oracle.used).toBe(3);
    expect(() => stream.oracle.label(['b99-0'])).toThrow(/never saw image b99-0/);
  });

  it('rejects a bad schedule naming the field', () => {
    expect(
      () =>
        new DriftStream(
          { seed: 1, batchSize: 10, schedule: [{ fromBatch: 0, share: 1.5, corruptions: ['fog'] }], source },
          0,
        ),
    ).toThrow(/schedule\[0\]\.share must be in \[0, 1\], got 1.5/);
    expect(
      () =>
        new DriftStream(
          { seed: 1, batchSize: 10, schedule: [{ fromBatch: 0, share: 0.5, corruptions: ['snow' as 'fog'] }], source },
          0,
        ),
    ).toThrow(/unknown corruption "snow"/);
  });
});
