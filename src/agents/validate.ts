/**
 * Validation of agent specs with errors that name the exact path of the bad field, e.g.
 *   strategies[1].when.every: expected a duration like "10s"
 * Hand-written (not zod) because the trigger/constraint/action unions are keyed by a property
 * name and a generic union error would not say which field is wrong. Pure: runs in workflow code.
 */
import type { Action, AgentSpec, Constraint, Json, Strategy, Trigger, When } from './spec.js';
import { REF_ROOTS, TEMPLATES, isRef } from './spec.js';
import { parseCron } from './cron.js';
import { parseDuration } from './duration.js';
import { NAME_PATTERN } from './conventions.js';

export class SpecError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid agent spec: ${issues.join('; ')}`);
    this.name = 'SpecError';
  }
}

type Obj = Record<string, unknown>;
const COMPARISONS = ['>', '>=', '<', '<=', '==', '!='];

class Checker {
  readonly issues: string[] = [];
  fail(path: string, message: string): void {
    this.issues.push(`${path}: ${message}`);
  }
  object(value: unknown, path: string): Obj | undefined {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Obj;
    this.fail(path, `expected an object, got ${describe(value)}`);
    return undefined;
  }
  array(value: unknown, path: string, min = 0): unknown[] | undefined {
    if (!Array.isArray(value)) {
      this.fail(path, `expected a list, got ${describe(value)}`);
      return undefined;
    }
    if (value.length < min) this.fail(path, `expected at least ${min} item${min === 1 ? '' : 's'}`);
    return value;
  }
  name(value: unknown, path: string): void {
    if (typeof value !== 'string' || !NAME_PATTERN.test(value)) {
      this.fail(
        path,
        `expected a name of lower-case letters, digits, '_' or '-' (like "tracker"), got ${describe(value)}`,
      );
    }
  }
  /** Belief and result keys: identifiers, so `{"$ref": "beliefs.newPredictions.count"}` reads naturally. */
  key(value: unknown, path: string): void {
    if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(value)) {
      this.fail(path, `expected an identifier (letters, digits, '_'; like "predictions"), got ${describe(value)}`);
    }
  }
  string(value: unknown, path: string): value is string {
    if (typeof value === 'string' && value.length > 0) return true;
    this.fail(path, `expected a non-empty string, got ${describe(value)}`);
    return false;
  }
  onlyKeys(obj: Obj, allowed: string[], path: string): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) this.fail(join(path, key), `unknown field (allowed: ${allowed.join(', ')})`);
    }
  }
  json(value: unknown, path: string): void {
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) this.fail(path, 'expected a finite number');
      return;
    }
    if (Array.isArray(value)) return value.forEach((v, i) => this.json(v, `${path}[${i}]`));
    if (typeof value === 'object') {
      if (isRef(value)) return this.ref(value.$ref, `${path}.$ref`);
      for (const [k, v] of Object.entries(value as Obj)) this.json(v, join(path, k));
      return;
    }
    this.fail(path, `expected JSON data, got ${describe(value)}`);
  }
  ref(path: string, at: string): void {
    const root = path.split('.')[0];
    if (!REF_ROOTS.includes(root as (typeof REF_ROOTS)[number])) {
      this.fail(at, `expected a reference starting with ${REF_ROOTS.join('/')}, got ${JSON.stringify(path)}`);
    }
  }
  duration(value: unknown, path: string, wholeSeconds = false): void {
    const ms = parseDuration(value);
    if (ms === undefined || ms <= 0) return this.fail(path, `expected a duration like "10s", got ${describe(value)}`);
    if (wholeSeconds && ms % 1000 !== 0)
      this.fail(path, `expected a whole number of seconds (schedules fire on whole seconds), got ${describe(value)}`);
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function oneKey(c: Checker, obj: Obj, keys: string[], path: string): string | undefined {
  const present = keys.filter((k) => k in obj);
  if (present.length === 1) return present[0];
  c.fail(
    path,
    present.length === 0
      ? `expected one of ${keys.map((k) => `"${k}"`).join(', ')}`
      : `expected only one of ${present.join(', ')}`,
  );
  return undefined;
}

function checkTrigger(c: Checker, value: unknown, path: string): void {
  const t = c.object(value, path);
  if (!t) return;
  const kind = oneKey(c, t, ['every', 'at', 'cron', 'or', 'and'], path);
  switch (kind) {
    case 'every':
      c.onlyKeys(t, ['every', 'offset'], path);
      c.duration(t.every, `${path}.every`, true);
      if (t.offset !== undefined && t.offset !== '0s') c.duration(t.offset, `${path}.offset`, true);
      return;
    case 'at':
      c.onlyKeys(t, ['at'], path);
      if (
        typeof t.at !== 'string' ||
        !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.0+)?(Z|[+-]\d{2}:\d{2})$/.test(t.at) ||
        Number.isNaN(Date.parse(t.at))
      ) {
        c.fail(
          `${path}.at`,
          `expected an ISO 8601 date-time with seconds and zone like "2026-01-31T12:00:00Z", got ${describe(t.at)}`,
        );
      }
      return;
    case 'cron':
      c.onlyKeys(t, ['cron'], path);
      if (!c.string(t.cron, `${path}.cron`)) return;
      try {
        parseCron(t.cron);
      } catch (err) {
        c.fail(`${path}.cron`, `expected a cron expression like "*/5 * * * *": ${(err as Error).message}`);
      }
      return;
    case 'or':
    case 'and': {
      c.onlyKeys(t, [kind], path);
      const members = c.array(t[kind], `${path}.${kind}`, 2);
      members?.forEach((m, i) => checkTrigger(c, m, `${path}.${kind}[${i}]`));
      if (members) checkHybridShape(c, kind, members, `${path}.${kind}`);
      return;
    }
  }
}

/**
 * Hybrid triggers combine simple triggers (every, at, cron) one level deep. AND is evaluated as
 * "the first member's fire times, kept when every other member agrees" (see agents/trigger-schedule.ts).
 */
function checkHybridShape(c: Checker, kind: 'and' | 'or', members: unknown[], path: string): void {
  members.forEach((m, i) => {
    if (typeof m === 'object' && m !== null && ('and' in m || 'or' in m))
      c.fail(
        `${path}[${i}]`,
        `${kind.toUpperCase()} members must be simple triggers (every, at or cron), not nested and/or`,
      );
  });
  const first = members[0];
  if (kind === 'and' && typeof first === 'object' && first !== null && 'at' in first) {
    c.fail(
      `${path}[0]`,
      'the first AND member drives the schedule: use "every" or "cron" there and put "at" later (it means "from this date on")',
    );
  }
}

function checkWhen(c: Checker, value: unknown, path: string): void {
  const w = c.object(value, path);
  if (!w) return;
  if ('call' in w) {
    c.onlyKeys(w, ['call'], path);
    c.name(w.call, `${path}.call`);
    return;
  }
  checkTrigger(c, w, path);
}

function checkOperand(c: Checker, value: unknown, path: string): void {
  if (value === null || ['number', 'string', 'boolean'].includes(typeof value)) return c.json(value, path);
  if (isRef(value)) return c.ref(value.$ref, `${path}.$ref`);
  c.fail(path, `expected a number, string, boolean, null or {"$ref": "beliefs.x"}, got ${describe(value)}`);
}

function checkConstraint(c: Checker, value: unknown, path: string): void {
  const k = c.object(value, path);
  if (!k) return;
  const kind = oneKey(c, k, ['compare', 'exists', 'and', 'or', 'not'], path);
  if (!kind) return;
  c.onlyKeys(k, [kind], path);
  const at = `${path}.${kind}`;
  switch (kind) {
    case 'compare': {
      const parts = c.array(k.compare, at);
      if (!parts) return;
      if (parts.length !== 3)
        return c.fail(at, 'expected [left, operator, right] like [{"$ref": "beliefs.count"}, ">=", 1000]');
      checkOperand(c, parts[0], `${at}[0]`);
      if (typeof parts[1] !== 'string' || !COMPARISONS.includes(parts[1]))
        c.fail(`${at}[1]`, `expected one of ${COMPARISONS.join(' ')}, got ${describe(parts[1])}`);
      checkOperand(c, parts[2], `${at}[2]`);
      return;
    }
    case 'exists':
      if (!isRef(k.exists)) return c.fail(at, `expected {"$ref": "..."}, got ${describe(k.exists)}`);
      return c.ref(k.exists.$ref, `${at}.$ref`);
    case 'and':
    case 'or':
      c.array(k[kind], at, 1)?.forEach((m, i) => checkConstraint(c, m, `${at}[${i}]`));
      return;
    case 'not':
      return checkConstraint(c, k.not, at);
  }
}

function checkActivityOptions(c: Checker, a: Obj, path: string): void {
  if (a.timeout !== undefined) c.duration(a.timeout, `${path}.timeout`);
  if (a.heartbeat !== undefined) c.duration(a.heartbeat, `${path}.heartbeat`);
  if (
    a.attempts !== undefined &&
    (!Number.isInteger(a.attempts) || (a.attempts as number) < 1 || (a.attempts as number) > 100)
  ) {
    c.fail(`${path}.attempts`, `expected an integer in 1..100, got ${describe(a.attempts)}`);
  }
  if (a.taskQueue !== undefined) c.string(a.taskQueue, `${path}.taskQueue`);
}

const ACTIVITY_KEYS = ['activity', 'args', 'as', 'timeout', 'heartbeat', 'attempts', 'taskQueue'];

function checkAction(c: Checker, value: unknown, path: string): void {
  const a = c.object(value, path);
  if (!a) return;
  const kind = oneKey(c, a, ['activity', 'call', 'child', 'tune'], path);
  if (a.as !== undefined) c.key(a.as, `${path}.as`);
  switch (kind) {
    case 'activity':
      c.onlyKeys(a, [...ACTIVITY_KEYS, 'remember'], path);
      c.string(a.activity, `${path}.activity`);
      if (a.args !== undefined) c.json(a.args, `${path}.args`);
      checkActivityOptions(c, a, path);
      return;
    case 'call': {
      c.onlyKeys(a, ['call', 'as'], path);
      const call = c.object(a.call, `${path}.call`);
      if (!call) return;
      c.onlyKeys(call, ['agent', 'app', 'name', 'args', 'wait'], `${path}.call`);
      c.name(call.agent, `${path}.call.agent`);
      if (call.app !== undefined) c.name(call.app, `${path}.call.app`);
      c.name(call.name, `${path}.call.name`);
      if (call.args !== undefined) c.json(call.args, `${path}.call.args`);
      if (call.wait !== undefined && typeof call.wait !== 'boolean')
        c.fail(`${path}.call.wait`, `expected true or false, got ${describe(call.wait)}`);
      return;
    }
    case 'child': {
      c.onlyKeys(a, ['child', 'as'], path);
      const child = c.object(a.child, `${path}.child`);
      if (!child) return;
      c.onlyKeys(child, ['workflowType', 'args', 'workflowId', 'taskQueue', 'timeout'], `${path}.child`);
      c.string(child.workflowType, `${path}.child.workflowType`);
      if (child.args !== undefined) c.json(child.args, `${path}.child.args`);
      if (child.workflowId !== undefined) c.string(child.workflowId, `${path}.child.workflowId`);
      if (child.taskQueue !== undefined) c.string(child.taskQueue, `${path}.child.taskQueue`);
      if (child.timeout !== undefined) c.duration(child.timeout, `${path}.child.timeout`);
      return;
    }
    case 'tune': {
      c.onlyKeys(a, ['tune'], path);
      const tune = c.object(a.tune, `${path}.tune`);
      if (!tune) return;
      c.onlyKeys(tune, ['agent', 'app', 'parameters'], `${path}.tune`);
      if (tune.agent !== undefined) c.name(tune.agent, `${path}.tune.agent`);
      if (tune.app !== undefined) c.name(tune.app, `${path}.tune.app`);
      const params = c.object(tune.parameters, `${path}.tune.parameters`);
      if (params) c.json(params, `${path}.tune.parameters`);
      return;
    }
  }
}

function checkStrategy(c: Checker, value: unknown, path: string): void {
  const s = c.object(value, path);
  if (!s) return;
  c.onlyKeys(s, ['name', 'when', 'sense', 'if', 'then'], path);
  c.name(s.name, `${path}.name`);
  checkWhen(c, s.when, `${path}.when`);
  if (s.sense !== undefined) {
    c.array(s.sense, `${path}.sense`)?.forEach((item, i) => {
      const at = `${path}.sense[${i}]`;
      const sensor = c.object(item, at);
      if (!sensor) return;
      c.onlyKeys(sensor, ACTIVITY_KEYS, at);
      c.string(sensor.activity, `${at}.activity`);
      c.key(sensor.as, `${at}.as`);
      if (sensor.args !== undefined) c.json(sensor.args, `${at}.args`);
      checkActivityOptions(c, sensor, at);
    });
  }
  if (s.if !== undefined) checkConstraint(c, s.if, `${path}.if`);
  c.array(s.then, `${path}.then`)?.forEach((a, i) => checkAction(c, a, `${path}.then[${i}]`));
}

/** The issues of one strategy (empty when valid); used by the run-time add/replace updates. */
export function strategyIssues(value: unknown, path = 'strategy'): string[] {
  const c = new Checker();
  checkStrategy(c, value, path);
  return c.issues;
}

/** Checks a raw spec (parsed JSON) and returns it with defaults filled in; throws SpecError naming every bad field. */
export function validateAgentSpec(raw: unknown): AgentSpec {
  const c = new Checker();
  const spec = c.object(raw, 'spec');
  if (!spec) throw new SpecError(c.issues);
  c.onlyKeys(spec, ['app', 'name', 'template', 'strategies', 'parameters', 'decisionLogSize'], '');
  c.name(spec.app, 'app');
  c.name(spec.name, 'name');
  if (spec.template !== undefined && !TEMPLATES.includes(spec.template as never)) {
    c.fail('template', `expected one of ${TEMPLATES.join(', ')}, got ${describe(spec.template)}`);
  }
  const strategies = c.array(spec.strategies, 'strategies') ?? [];
  strategies.forEach((s, i) => checkStrategy(c, s, `strategies[${i}]`));
  const seen = new Set<string>();
  strategies.forEach((s, i) => {
    const name = (s as Obj | null)?.name;
    if (typeof name !== 'string') return;
    if (seen.has(name)) c.fail(`strategies[${i}].name`, `duplicate strategy name "${name}"`);
    seen.add(name);
  });
  if (spec.parameters !== undefined) {
    const params = c.object(spec.parameters, 'parameters');
    if (params) c.json(params, 'parameters');
  }
  if (
    spec.decisionLogSize !== undefined &&
    (!Number.isInteger(spec.decisionLogSize) ||
      (spec.decisionLogSize as number) < 1 ||
      (spec.decisionLogSize as number) > 1000)
  ) {
    c.fail('decisionLogSize', `expected an integer in 1..1000, got ${describe(spec.decisionLogSize)}`);
  }
  if (c.issues.length > 0) throw new SpecError(c.issues);
  return {
    app: spec.app as string,
    name: spec.name as string,
    template: (spec.template as AgentSpec['template'] | undefined) ?? 'custom',
    strategies: strategies as Strategy[],
    parameters: (spec.parameters as Record<string, Json> | undefined) ?? {},
    ...(spec.decisionLogSize !== undefined ? { decisionLogSize: spec.decisionLogSize as number } : {}),
  };
}

export type { Action, Constraint, Trigger, When };
