/** LoadGen's percentile rule (sorted[floor(n·p)], no interpolation) and the summary's statistics. */
import { describe, expect, it } from '@jest/globals';
import { latencyStats, percentile } from '../../../src/loadgen/stats.js';

describe('percentile', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  it.each([
    [0.5, 51],
    [0.9, 91],
    [0.99, 100],
    [0.999, 100],
    [0, 1],
  ])('of 1..100 at p = %s is %s (index floor(100·p))', (p, v) => {
    expect(percentile(hundred, p)).toBe(v);
  });

  it.each([
    [10, 0.9, 9],
    [1000, 0.99, 990],
    [1000, 0.999, 999],
    [3, 0.5, 1],
    [1, 0.99, 0],
  ])('n = %s, p = %s → index %s', (n, p, index) => {
    const sorted = Array.from({ length: n }, (_, i) => i);
    expect(percentile(sorted, p)).toBe(index);
  });

  it('summarises like mlperf_log_summary.txt: min, max, integer mean, 50..99.9', () => {
    const { stats } = latencyStats([5, 1, 4, 2, 3]);
    expect(stats).toMatchObject({ count: 5, minNs: 1, maxNs: 5, meanNs: 3 });
    expect(Object.keys(stats.percentilesNs)).toEqual(['50.00', '90.00', '95.00', '97.00', '99.00', '99.90']);
    expect(stats.percentilesNs['50.00']).toBe(3);
    expect(stats.percentilesNs['99.90']).toBe(5);
  });
});
