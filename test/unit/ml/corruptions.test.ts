import { describe, expect, it } from '@jest/globals';
import { CORRUPTIONS, corruptImage, type CorruptionName } from '../../../src/ml/corruptions.js';
import { loadMnist } from '../../../src/ml/mnist.js';
import { corruptImageSet } from '../../../src/ml/mnist-c.js';

const test = loadMnist('test', 20);
const digit = (i: number): Float32Array => test.pixels.slice(i * 784, (i + 1) * 784);
const meanAbsDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((s, v, i) => s + Math.abs(v - (b[i] ?? 0)), 0) / a.length;

/** Corruptions whose output depends on the seed (the others are fixed transforms). */
const RANDOM: CorruptionName[] = [
  'shot_noise',
  'impulse_noise',
  'glass_blur',
  'motion_blur',
  'fog',
  'spatter',
  'dotted_line',
  'zigzag',
];

describe.each(CORRUPTIONS.map((c) => [c]))('MNIST-C corruption %s', (name) => {
  it('returns a 28×28 image in [0,1] and leaves the input untouched', () => {
    const input = digit(0);
    const copy = Float32Array.from(input);
    const out = corruptImage(input, name, 1);
    expect(out).toBeInstanceOf(Float32Array);
    expect(out.length).toBe(784);
    expect(out.every((v) => v >= 0 && v <= 1 && Number.isFinite(v))).toBe(true);
    expect(input).toEqual(copy);
  });

  it('is reproducible from its seed', () => {
    expect(corruptImage(digit(1), name, 42)).toEqual(corruptImage(digit(1), name, 42));
    if (RANDOM.includes(name)) {
      // Over a few digits at least one must change with the seed (a sign flip can coincide once).
      const changed = [0, 1, 2, 3].some(
        (i) => meanAbsDiff(corruptImage(digit(i), name, 1), corruptImage(digit(i), name, 2)) > 0,
      );
      expect(changed).toBe(true);
    }
  });

  it('is visibly different from the clean digit (mean |Δ| > 0.02 over 20 digits)', () => {
    let total = 0;
    for (let i = 0; i < test.count; i++) total += meanAbsDiff(corruptImage(digit(i), name, 7 + i), digit(i));
    expect(total / test.count).toBeGreaterThan(0.02);
  });
});

describe('corruption inputs and sets', () => {
  it('rejects a wrong shape, dtype or name with a clear error', () => {
    expect(() => corruptImage(new Float32Array(100), 'fog', 1)).toThrow(
      /28×28 image as a Float32Array of 784 values, got Float32Array of length 100/,
    );
    expect(() => corruptImage(Array.from(digit(0)) as unknown as Float32Array, 'fog', 1)).toThrow(
      /got Array of length 784/,
    );
    expect(() => corruptImage(digit(0), 'snow' as CorruptionName, 1)).toThrow(/unknown corruption "snow"/);
  });

  it('gives known transforms their published effect', () => {
    const d = digit(0);
    // brightness: +0.5 clipped
    expect(corruptImage(d, 'brightness', 0)[0]).toBeCloseTo(0.5);
    // stripe: columns 0..6 and 21..27 inverted, the middle untouched
    const s = corruptImage(d, 'stripe', 0);
    expect(s[0]).toBe(1);
    expect(s[14 * 28 + 14]).toBe(d[14 * 28 + 14]);
    // canny: a binary edge map
    expect(corruptImage(d, 'canny_edges', 0).every((v) => v === 0 || v === 1)).toBe(true);
    // scale 0.7: the digit's ink shrinks by about 0.7² (bilinear resampling blurs a little)
    const ink = (x: Float32Array): number => x.reduce((a, b) => a + b, 0);
    expect(ink(corruptImage(d, 'scale', 0)) / ink(d)).toBeGreaterThan(0.4);
    expect(ink(corruptImage(d, 'scale', 0)) / ink(d)).toBeLessThan(0.6);
  });

  it('corrupts a whole set reproducibly, keeping labels', () => {
    const a = corruptImageSet(test, 'zigzag', 3);
    const b = corruptImageSet(test, 'zigzag', 3);
    expect(a.pixels).toEqual(b.pixels);
    expect(a.labels).toEqual(test.labels);
    expect(a.pixels).not.toEqual(test.pixels);
  });
});
