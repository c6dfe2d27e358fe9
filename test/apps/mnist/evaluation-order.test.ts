import { describe, expect, it } from '@jest/globals';
import { evaluationOrder } from '../../../src/apps/mnist/activities.js';
import { parseDemoOptions } from '../../../src/apps/mnist/demo-options.js';

describe('which disagreements a verdict labels (evaluationOrder)', () => {
  const ids = Array.from({ length: 2000 }, (_, i) => `b${Math.floor(i / 200)}-${i % 200}`);

  it('is one fixed order: any subset comes in the order of the whole (so a later verdict reuses earlier labels)', () => {
    const all = evaluationOrder(ids);
    expect(new Set(all).size).toBe(ids.length);
    expect(evaluationOrder([...ids].reverse())).toEqual(all);
    const subset = ids.filter((_, i) => i % 3 === 0);
    const position = new Map(all.map((id, i) => [id, i]));
    expect(evaluationOrder(subset)).toEqual(
      [...subset].sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0)),
    );
    // Two overlapping disagreement sets: their first 80 share most of the common part's first ones.
    const first = evaluationOrder(ids.slice(0, 1200)).slice(0, 80);
    const second = evaluationOrder(ids.slice(400, 2000)).slice(0, 80);
    expect(first.filter((id) => second.includes(id)).length).toBeGreaterThan(30);
  });

  it('is not the ids order: the first ones spread over every batch (a uniform pick, not the oldest samples)', () => {
    const first = evaluationOrder(ids).slice(0, 200);
    const batches = new Set(first.map((id) => id.split('-')[0]));
    expect(batches.size).toBe(10);
    for (const b of batches) expect(first.filter((id) => id.startsWith(`${b}-`)).length).toBeLessThan(40);
  });

  it('the demo labels up to 80 disagreements a verdict (--eval-labels-per-verdict), named when wrong', () => {
    const o = parseDemoOptions([]);
    if (o === 'help') throw new Error('unexpected help');
    expect(o.agents.evaluationLabelsPerVerdict).toBe(80);
    const set = parseDemoOptions(['--eval-labels-per-verdict', '25']);
    if (set === 'help') throw new Error('unexpected help');
    expect(set.agents.evaluationLabelsPerVerdict).toBe(25);
    expect(() => parseDemoOptions(['--eval-labels-per-verdict', '0'])).toThrow(
      /--eval-labels-per-verdict must be an integer >= 1, got "0"/,
    );
  });
});
