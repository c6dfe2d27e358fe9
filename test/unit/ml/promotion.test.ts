import { describe, expect, it } from '@jest/globals';
import { compareDiscordant, comparePaired, decidePromotion } from '../../../src/ml/promotion.js';
import { binomialUpperTail } from '../../../src/ml/stats.js';

/** n paired answers: `fixed` samples only the candidate gets right, `broken` only production, the rest both right. */
function pairs(n: number, fixed: number, broken: number): [boolean[], boolean[]] {
  const cand = Array.from({ length: n }, (_, i) => i >= fixed + broken || i < fixed);
  const prod = Array.from({ length: n }, (_, i) => i >= fixed);
  return [cand, prod];
}

describe('promotion rule: paired exact McNemar test with a minimum evaluation size', () => {
  it('counts discordant pairs and computes the one-sided exact p-value and the lower bound', () => {
    const c = comparePaired(...pairs(100, 10, 0));
    expect(c).toMatchObject({
      n: 100,
      candidateOnly: 10,
      productionOnly: 0,
      candidateAccuracy: 1,
      productionAccuracy: 0.9,
    });
    expect(c.difference).toBeCloseTo(0.1, 12);
    expect(c.pValue).toBeCloseTo(1 / 1024, 12); // P(X ≥ 10 | Bin(10, ½))
    expect(c.lowerBound).toBeGreaterThan(0.04);
    expect(c.lowerBound).toBeLessThan(0.1);
    expect(comparePaired(...pairs(60, 0, 0)).pValue).toBe(1);
  });

  it.each([
    ['clearly better', 120, 12, 1, 'promote', /better beyond noise/],
    ['better only by noise', 80, 2, 0, 'reject', /better only by noise/],
    ['3 fixed vs 1 broken: still noise', 200, 3, 1, 'reject', /better only by noise/],
    ['worse', 100, 1, 6, 'reject', /not better/],
    ['too few samples, however good', 30, 10, 0, 'wait', /fewer than 50 evaluation samples/],
  ] as const)('%s → %s', (_name, n, fixed, broken, decision, reason) => {
    const v = decidePromotion(comparePaired(...pairs(n, fixed, broken)), { minEvaluation: 50, alpha: 0.05 });
    expect(v.decision).toBe(decision);
    expect(v.reason).toMatch(reason);
    expect(v.reason).toMatch(new RegExp(`n=${n}: candidate .* vs production .*, ${fixed} fixed / ${broken} broken`));
  });

  it('decides from a labelled random subset of the disagreements alone', () => {
    // 400 samples, 60 disagreements, 40 labelled: 30 the candidate got right, 8 production, 2 neither.
    const c = compareDiscordant(400, 60, 40, 30, 8);
    expect(c.n).toBe(400);
    expect(c.difference).toBeCloseTo((60 / 400) * (22 / 40), 12);
    expect(c.pValue).toBeCloseTo(binomialUpperTail(30, 38, 0.5), 12);
    expect(c.lowerBound).toBeGreaterThan(0);
    expect(c.lowerBound).toBeLessThan(c.difference);
    expect(decidePromotion(c, { minEvaluation: 100 }).decision).toBe('promote');
    // A useless candidate: rejected however few of its many disagreements were labelled.
    expect(decidePromotion(compareDiscordant(400, 360, 40, 3, 35), { minEvaluation: 100 }).decision).toBe('reject');
    expect(() => compareDiscordant(10, 20, 5, 1, 1)).toThrow(/inconsistent counts/);
  });

  it('honours the margin and rejects bad rules and unpaired answers', () => {
    const c = comparePaired(...pairs(200, 12, 0));
    expect(decidePromotion(c, { margin: 0.1 }).decision).toBe('reject');
    expect(decidePromotion(c, { margin: 0.05 }).decision).toBe('promote');
    expect(decidePromotion(c, { margin: 0.05 }).rule).toEqual({ minEvaluation: 50, alpha: 0.05, margin: 0.05 });
    expect(() => decidePromotion(c, { alpha: 1.5 })).toThrow(/alpha must be in \(0, 1\), got 1.5/);
    expect(() => decidePromotion(c, { minEvaluation: 0 })).toThrow(/minEvaluation must be a positive integer/);
    expect(() => comparePaired([true], [true, false])).toThrow(/same samples: 1 candidate vs 2 production/);
  });
});
