/**
 * Evaluation of the data parts of a strategy: `{ "$ref": "beliefs.x" }` references and
 * constraints. Pure and deterministic (runs inside the agent workflow).
 */
import type { Constraint, Json, Operand } from './spec.js';
import { isRef } from './spec.js';

/** What references can see while a strategy runs. */
export interface RunContext {
  beliefs: Record<string, Json>;
  params: Record<string, Json>;
  event: Record<string, Json>;
  results: Record<string, Json>;
}

/** Value at a dotted path (`beliefs.predictions.count`, `event.args.items.0`), or undefined. */
export function lookup(ctx: RunContext, path: string): Json | undefined {
  let current: unknown = ctx;
  for (const key of path.split('.')) {
    // Own properties only: `params.constructor` is a missing value, not Object's constructor.
    if (current === null || typeof current !== 'object' || !Object.prototype.hasOwnProperty.call(current, key))
      return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current as Json | undefined;
}

/** Replaces every `{ "$ref": … }` inside a JSON value by what it points to (null when missing). */
export function resolveRefs(value: unknown, ctx: RunContext): Json {
  if (isRef(value)) return lookup(ctx, value.$ref) ?? null;
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, ctx));
  if (value !== null && typeof value === 'object') {
    // Built with defineProperty-like semantics: a key "__proto__" (refused by validation anyway) stays a plain key.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, ctx)])) as Record<string, Json>;
  }
  return (value ?? null) as Json;
}

function operand(value: Operand, ctx: RunContext): Json | undefined {
  return isRef(value) ? lookup(ctx, value.$ref) : value;
}

/** A comparison with a missing value is false (a belief never observed satisfies no threshold). */
function compare(left: Json | undefined, op: string, right: Json | undefined): boolean {
  if (left === undefined || right === undefined) return false;
  if (op === '==') return JSON.stringify(left) === JSON.stringify(right);
  if (op === '!=') return JSON.stringify(left) !== JSON.stringify(right);
  const bothNumbers = typeof left === 'number' && typeof right === 'number';
  const bothStrings = typeof left === 'string' && typeof right === 'string';
  if (!bothNumbers && !bothStrings) return false;
  const l = left as number | string;
  const r = right as number | string;
  switch (op) {
    case '>':
      return l > r;
    case '>=':
      return l >= r;
    case '<':
      return l < r;
    case '<=':
      return l <= r;
    default:
      return false;
  }
}

export function evaluateConstraint(constraint: Constraint, ctx: RunContext): boolean {
  if ('compare' in constraint) {
    const [l, op, r] = constraint.compare;
    return compare(operand(l, ctx), op, operand(r, ctx));
  }
  if ('exists' in constraint) {
    const v = lookup(ctx, constraint.exists.$ref);
    return v !== undefined && v !== null;
  }
  if ('and' in constraint) return constraint.and.every((c) => evaluateConstraint(c, ctx));
  if ('or' in constraint) return constraint.or.some((c) => evaluateConstraint(c, ctx));
  return !evaluateConstraint(constraint.not, ctx);
}
