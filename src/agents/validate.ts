/**
 * Validation of agent specs with errors that name the exact path of the bad field, e.g.
 *   strategies[1].when.every: expected a duration like "10s", got "often"
 * The rules and messages live in the zod schemas of spec.ts; this file turns zod's issues into
 * those lines. Pure: runs in workflow code.
 */
import type { z } from 'zod/v4';
import { AgentSpecSchema, StrategySchema, type AgentSpec } from './spec.js';

export class SpecError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid agent spec: ${issues.join('; ')}`);
    this.name = 'SpecError';
  }
}

/** `strategies[1].when.every` from zod's `['strategies', 1, 'when', 'every']`, under `root`. */
function pathText(path: readonly PropertyKey[], root: string): string {
  let out = root;
  for (const key of path)
    out = typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key);
  return out;
}

/** One line per bad field; an unknown-keys issue becomes one line per unknown key. */
function lines(error: z.ZodError, root: string): string[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => `${pathText([...issue.path, key], root)}: ${issue.message}`);
    return [`${pathText(issue.path, root) || 'spec'}: ${issue.message}`];
  });
}

/** The issues of one strategy (empty when valid); used by the run-time add/replace updates. */
export function strategyIssues(value: unknown, path = 'strategy'): string[] {
  const result = StrategySchema.safeParse(value);
  return result.success ? [] : lines(result.error, path);
}

/** Checks a raw spec (parsed JSON) and returns it with defaults filled in; throws SpecError naming every bad field. */
export function validateAgentSpec(raw: unknown): AgentSpec {
  const result = AgentSpecSchema.safeParse(raw);
  if (!result.success) throw new SpecError(lines(result.error, ''));
  return result.data;
}
