/** LoadGen's early-stopping table and percentile estimate, recomputed with a binomial CDF. */
import { describe, expect, it } from '@jest/globals';
import {
  minPassingQueries,
  minQueriesForEarlyStopping,
  percentileEstimate,
  serverEarlyStopping,
} from '../../../src/loadgen/early-stopping.js';

describe('early stopping', () => {
  it.each([
    [0.99, 0, 459],
    [0.99, 1, 662],
    [0.99, 2, 838],
    [0.99, 5, 1307],
    [0.99, 10, 2010],
    [0.9, 0, 44],
    [0.9, 1, 64],
    [0.9, 2, 81],
  ])('p = %s with %s queries over the bound needs %s queries', (p, t, n) => {
    expect(minQueriesForEarlyStopping(t, p)).toBe(n);
    expect(minPassingQueries(t, p)).toBe(n - t);
  });

  it('Server: met exactly at h + t queries, with how many more are needed below it', () => {
    expect(serverEarlyStopping(662, 1, 0.99)).toMatchObject({ met: true, requiredQueries: 662 });
    const short = serverEarlyStopping(600, 1, 0.99);
    expect(short.met).toBe(false);
    expect(short.recommendation).toContain('Would need to run at least 62 more queries');
  });

  it('SingleStream: needs h(1) + 1 queries, then estimates sorted[n − t]', () => {
    const sorted = Array.from({ length: 63 }, (_, i) => i);
    expect(percentileEstimate(sorted, 0.9)).toMatchObject({ met: false, minQueries: 64 });
    const enough = Array.from({ length: 64 }, (_, i) => i * 10);
    // n = 64 fits t = 1 (64) but not t = 2 (81): discard nothing, the estimate is the maximum.
    expect(percentileEstimate(enough, 0.9)).toMatchObject({ met: true, t: 1, estimateNs: 630 });
    const many = Array.from({ length: 1000 }, (_, i) => i);
    const e = percentileEstimate(many, 0.9);
    expect(minPassingQueries(e.t, 0.9) + e.t).toBeLessThanOrEqual(1000);
    expect(minPassingQueries(e.t + 1, 0.9) + e.t + 1).toBeGreaterThan(1000);
    expect(e.estimateNs).toBe(1000 - e.t);
    // the estimate is above the plain 90th percentile (it is an upper confidence bound)
    expect(e.estimateNs).toBeGreaterThan(900);
  });

  it('refuses a bad t or percentile', () => {
    expect(() => minPassingQueries(-1, 0.99)).toThrow(/t must be/);
    expect(() => minPassingQueries(0, 1)).toThrow(/percentile/);
  });
});
