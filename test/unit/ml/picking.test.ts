import { describe, expect, it } from '@jest/globals';
import { PICK_METHODS, pickCriticalPoints } from '../../../src/ml/picking.js';
import { Rng } from '../../../src/ml/random.js';

const rng = new Rng(1);
const n = 500;
const scores = Float32Array.from({ length: n }, () => rng.uniform(0, 10));
const flagged = Array.from({ length: n }, (_, i) => i).filter((i) => (scores[i] ?? 0) > 6);
const predicted = Int32Array.from({ length: n }, (_, i) => i % 10);
const confidence = Float32Array.from({ length: n }, () => rng.uniform(0.1, 1));

describe.each(PICK_METHODS.map((m) => [m]))('critical-point picking: %s', (method) => {
  it('stays within the budget, picks distinct flagged samples, reproducibly', () => {
    const picked = pickCriticalPoints({ scores, flagged, budget: 40, method, seed: 3, predicted, confidence });
    expect(picked).toHaveLength(40);
    expect(new Set(picked).size).toBe(40);
    expect(picked.every((i) => flagged.includes(i))).toBe(true);
    expect(pickCriticalPoints({ scores, flagged, budget: 40, method, seed: 3, predicted, confidence })).toEqual(picked);
    expect(
      pickCriticalPoints({ scores, flagged: flagged.slice(0, 5), budget: 40, method, seed: 3, predicted, confidence }),
    ).toHaveLength(5);
    expect(pickCriticalPoints({ scores, flagged, budget: 0, method, seed: 3, predicted, confidence })).toEqual([]);
  });
});

describe('picking specifics and bad input', () => {
  it('least-confidence takes the least confident; top-score-diverse spreads over predicted classes', () => {
    const least = pickCriticalPoints({ scores, flagged, budget: 10, method: 'least-confidence', seed: 1, confidence });
    const worst = [...flagged].sort((a, b) => (confidence[a] ?? 0) - (confidence[b] ?? 0)).slice(0, 10);
    expect(least).toEqual(worst);
    const diverse = pickCriticalPoints({
      scores,
      flagged,
      budget: 10,
      method: 'top-score-diverse',
      seed: 1,
      predicted,
    });
    expect(new Set(diverse.map((i) => predicted[i])).size).toBe(10);
  });

  it('names what is wrong', () => {
    expect(() => pickCriticalPoints({ scores, flagged, budget: -1, method: 'kde', seed: 1 })).toThrow(
      /label budget must be a non-negative integer, got -1/,
    );
    expect(() => pickCriticalPoints({ scores, flagged: [n + 5], budget: 1, method: 'kde', seed: 1 })).toThrow(
      /flagged index 505 is outside the batch/,
    );
    expect(() => pickCriticalPoints({ scores, flagged, budget: 1, method: 'least-confidence', seed: 1 })).toThrow(
      /needs confidence for every sample/,
    );
    expect(() => pickCriticalPoints({ scores, flagged, budget: 1, method: 'best' as 'kde', seed: 1 })).toThrow(
      /unknown pick method "best"/,
    );
  });
});
