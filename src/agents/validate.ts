/**
 * Validation of agent specs with errors that name the exact path of the bad field, e.g.
 *   strategies[1].when.every: expected a duration like "10s", got "often"
 * The rules and messages live in the zod schemas of spec.ts; this file turns zod's issues into
 * those lines. Before zod sees a document, an iterative walk checks its shape (nesting, size,
 * reserved keys: limits.ts), so no input makes the recursive parse overflow the stack.
 * The same checks guard the run-time changes (strategies, parameters, calls): whatever an update
 * accepts, the spec validator accepts again at the next continue-as-new.
 * Pure: runs in workflow code.
 */
import type { z } from 'zod/v4';
import { AgentSpecSchema, StrategySchema, type AgentSpec, type Strategy } from './spec.js';
import { SPEC_LIMITS, jsonBytes, shapeProblem } from './limits.js';
import { NAME_PATTERN } from './conventions.js';

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
    if (issue.code === 'invalid_key') {
      const key = String((issue as { input?: unknown }).input);
      const inner = issue.issues.map((i) => i.message).join('; ');
      return [`${pathText([...issue.path, key], root) || 'spec'}: ${inner || issue.message}`];
    }
    return [`${pathText(issue.path, root) || 'spec'}: ${issue.message}`];
  });
}

/** Shape problems (nesting, node count, reserved keys, serialized size), as lines under `root`. */
function shapeLines(value: unknown, root: string, maxBytes: number): string[] {
  const problem = shapeProblem(value);
  if (problem) {
    const under = root || (typeof problem.path[0] === 'number' ? 'spec' : '');
    return [`${pathText(problem.path, under) || 'spec'}: ${problem.message}`];
  }
  const bytes = jsonBytes(value);
  if (bytes > maxBytes) return [`${root || 'spec'}: too large: ${bytes} bytes of JSON, at most ${maxBytes}`];
  return [];
}

/** Parses with a schema, never throwing: a stack overflow deep in zod (which the shape check should prevent) is an issue too. */
function parse<T>(schema: z.ZodType<T>, value: unknown, root: string): { data?: T; issues: string[] } {
  try {
    const result = schema.safeParse(value);
    return result.success ? { data: result.data, issues: [] } : { issues: lines(result.error, root) };
  } catch (err) {
    if (err instanceof RangeError) return { issues: [`${root || 'spec'}: nested too deeply`] };
    throw err;
  }
}

/** The issues of one strategy (empty when valid); used by the run-time add/replace updates. */
export function strategyIssues(value: unknown, path = 'strategy'): string[] {
  const shape = shapeLines(value, path, SPEC_LIMITS.specBytes);
  return shape.length > 0 ? shape : parse(StrategySchema, value, path).issues;
}

/** The issues of a whole spec (empty when valid), with defaults filled in when valid. */
export function agentSpecIssues(raw: unknown): { spec?: AgentSpec; issues: string[] } {
  const shape = shapeLines(raw, '', SPEC_LIMITS.specBytes);
  if (shape.length > 0) return { issues: shape };
  const { data, issues } = parse(AgentSpecSchema, raw, '');
  return data ? { spec: data, issues } : { issues };
}

/** Checks a raw spec (parsed JSON) and returns it with defaults filled in; throws SpecError naming every bad field. */
export function validateAgentSpec(raw: unknown): AgentSpec {
  const { spec, issues } = agentSpecIssues(raw);
  if (!spec) throw new SpecError(issues);
  return spec;
}

/**
 * The issues of a run-time parameter change against the current spec: each value with the
 * spec's rules (`parameters.<name>: …`), then the spec as it would be after the change (its size),
 * so the change can never make the next continue-as-new refuse the spec.
 */
export function parametersIssues(change: unknown, spec: AgentSpec): string[] {
  if (typeof change !== 'object' || change === null || Array.isArray(change))
    return [
      `parameters: expected an object of name → value, got ${change === null ? 'null' : Array.isArray(change) ? 'a list' : typeof change}`,
    ];
  const shape = shapeLines(change, 'parameters', SPEC_LIMITS.specBytes);
  if (shape.length > 0) return shape;
  const { issues } = agentSpecIssues({ ...spec, parameters: { ...spec.parameters, ...change } });
  return issues.map((line) => (line.startsWith('spec:') ? `parameters: the spec would become ${line.slice(6)}` : line));
}

/** The issues of a run-time strategy change: the strategy itself, then the spec as it would be after it. */
export function strategyChangeIssues(strategy: unknown, spec: AgentSpec, kind: 'add' | 'replace'): string[] {
  const own = strategyIssues(strategy);
  if (own.length > 0) return own;
  const s = strategy as Strategy;
  const exists = spec.strategies.some((x) => x.name === s.name);
  if (kind === 'add' && exists) return [`strategy.name: "${s.name}" already exists (use replaceStrategy)`];
  if (kind === 'replace' && !exists) return [`strategy.name: no strategy "${s.name}" to replace`];
  const strategies = kind === 'add' ? [...spec.strategies, s] : spec.strategies.map((x) => (x.name === s.name ? s : x));
  const { issues } = agentSpecIssues({ ...spec, strategies });
  const index = strategies.findIndex((x) => x.name === s.name);
  const prefix = `strategies[${index}]`;
  return issues.map((line) =>
    line.startsWith(prefix) ? `strategy${line.slice(prefix.length)}` : line.replace(/^spec:/, 'strategies:'),
  );
}

/** The issues of a call sent to an agent (signal or update): a name, small JSON args, short ids. */
export function callIssues(call: unknown): string[] {
  if (typeof call !== 'object' || call === null || Array.isArray(call))
    return ['call: expected an object like {"name": "check", "args": {...}}'];
  const { name, args, caller, callId } = call as Record<string, unknown>;
  const issues: string[] = [];
  if (typeof name !== 'string' || !NAME_PATTERN.test(name))
    issues.push(`call.name: expected the name of a Call-Receive strategy, got ${JSON.stringify(name)?.slice(0, 40)}`);
  for (const [key, value] of [
    ['caller', caller],
    ['callId', callId],
  ] as const)
    if (
      value !== undefined &&
      (typeof value !== 'string' || value.length === 0 || value.length > SPEC_LIMITS.textLength)
    )
      issues.push(`call.${key}: expected a string of 1..${SPEC_LIMITS.textLength} characters`);
  // Data, not spec: any JSON (a "$ref" inside is not resolved), within the nesting and size limits.
  if (args !== undefined) issues.push(...shapeLines(args, 'call.args', SPEC_LIMITS.callArgsBytes));
  return issues;
}
