import { describe, expect, it } from '@jest/globals';
import { evaluateConstraint, resolveRefs, type RunContext } from '../../../src/agents/refs.js';

describe('constraints and references', () => {
  const ctx: RunContext = {
    beliefs: { n: 12, label: 'b' },
    params: { min: 10 },
    event: { args: { items: [1, 2] } },
    results: {},
  };
  it('evaluates comparisons, and/or/not and exists; a missing value satisfies no comparison', () => {
    expect(evaluateConstraint({ compare: [{ $ref: 'beliefs.n' }, '>=', { $ref: 'params.min' }] }, ctx)).toBe(true);
    expect(evaluateConstraint({ compare: [{ $ref: 'beliefs.n' }, '<', 5] }, ctx)).toBe(false);
    expect(evaluateConstraint({ compare: [{ $ref: 'beliefs.missing' }, '<', 5] }, ctx)).toBe(false);
    expect(evaluateConstraint({ not: { compare: [{ $ref: 'beliefs.missing' }, '<', 5] } }, ctx)).toBe(true);
    expect(
      evaluateConstraint(
        { or: [{ exists: { $ref: 'beliefs.nothing' } }, { compare: [{ $ref: 'beliefs.label' }, '==', 'b'] }] },
        ctx,
      ),
    ).toBe(true);
    expect(evaluateConstraint({ compare: [{ $ref: 'event.args.items.1' }, '==', 2] }, ctx)).toBe(true);
    expect(resolveRefs({ a: { $ref: 'beliefs.n' }, b: [{ $ref: 'nothing.here' }] }, ctx)).toEqual({ a: 12, b: [null] });
  });
});
