/**
 * The limits an agent works within, chosen so that nothing a user sends can crash the validator or
 * the workflow task, and so that the state carried across continue-as-new always fits in one
 * Temporal payload (the server refuses payloads over 2 MB by default). Documented in
 * src/agents/README.md ("Limits"). Pure: runs in workflow code.
 */

/** What a spec (and anything sent to an agent at run time) may contain. */
export const SPEC_LIMITS = {
  /** Nesting of objects and lists anywhere in a spec, its parameters or a call's args. */
  depth: 64,
  /** Values (objects, lists, scalars) in one document: bounds the validator's work. */
  nodes: 100_000,
  /** Serialized size of a whole spec (JSON, UTF-8). */
  specBytes: 256 * 1024,
  /** Any string inside JSON data (args, parameters). */
  stringLength: 16 * 1024,
  /** Activity names, task queues, workflow types and ids, reference paths. */
  textLength: 256,
  /** Cron expressions. */
  cronLength: 128,
  strategies: 100,
  sensors: 20,
  actions: 50,
  /** Members of an AND / OR trigger. */
  triggerMembers: 10,
  /** Items of one AND / OR constraint. */
  constraintItems: 50,
  /** Serialized size of one call's args (signal or update). */
  callArgsBytes: 64 * 1024,
} as const;

/** Durations, in ms: timeouts are whole milliseconds of at least a second; intervals at most a year. */
export const DURATION_LIMITS = {
  minTimeoutMs: 1000,
  maxTimeoutMs: 7 * 86_400_000,
  maxChildTimeoutMs: 366 * 86_400_000,
  maxIntervalMs: 366 * 86_400_000,
} as const;

/** What an agent keeps (each carried across continue-as-new, so their sum stays far below 2 MB). */
export const STATE_LIMITS = {
  /** Events waiting in the queue: past it, calls are refused (trigger fires coalesce anyway). */
  queueEvents: 1000,
  /** Fires of one strategy that may wait in the queue; more are coalesced (dropped and counted). */
  firesPerStrategy: 3,
  /** Serialized size of the queued events. */
  queueBytes: 256 * 1024,
  /** Serialized size of the decision log (besides its count, `decisionLogSize`). */
  decisionsBytes: 256 * 1024,
  /** One decision; larger observations, results and event args are replaced by `{ "$truncated": bytes }`. */
  decisionBytes: 32 * 1024,
  /** Remembered call ids (with their outcomes). */
  recentCalls: 500,
  /** Serialized size of the remembered calls. */
  recentCallsBytes: 256 * 1024,
  /** One remembered outcome; larger results are replaced by `{ "$truncated": bytes }` (a waiting caller gets them whole). */
  outcomeBytes: 16 * 1024,
  /** One belief (a sensor's or a remembered action's result). */
  beliefBytes: 64 * 1024,
  /** All beliefs together. */
  beliefsBytes: 256 * 1024,
  /** The whole carry of continue-as-new; the decision log is trimmed further if it would exceed it. */
  carryBytes: 1536 * 1024,
} as const;

/**
 * Keys that name members of Object.prototype: refused wherever a name becomes an object key
 * (`as`, parameter names, keys of JSON data), so a spec can neither set an object's prototype
 * (`__proto__`) nor make a reference resolve to an inherited function (`params.constructor`).
 */
export const RESERVED_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  'toString',
  'valueOf',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
] as const;
const reserved: ReadonlySet<string> = new Set(RESERVED_KEYS);
export const isReservedKey = (key: string): boolean => reserved.has(key);

/** UTF-8 length of a string, without TextEncoder (workflow-safe and fast). */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i += 1;
    } else n += 3;
  }
  return n;
}

/** Serialized (JSON, UTF-8) size of a value already known to be shallow enough; undefined counts 0. */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : utf8Length(text);
}

export interface ShapeProblem {
  /** Path of the offending value, as zod would give it. */
  path: (string | number)[];
  message: string;
}

/**
 * Checks the shape of a document before anything recursive touches it: nesting at most
 * `depth`, at most `nodes` values, no reserved key. Iterative, so a document nested 100,000
 * levels deep gives a problem, not a stack overflow (nor does a cycle loop forever).
 */
export function shapeProblem(
  value: unknown,
  limits: { depth: number; nodes: number } = SPEC_LIMITS,
): ShapeProblem | undefined {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value: v, path } = stack.pop()!;
    if (++nodes > limits.nodes) return { path: [], message: `too large: more than ${limits.nodes} values` };
    if (typeof v !== 'object' || v === null) continue;
    if (path.length >= limits.depth)
      return { path, message: `nested too deeply: at most ${limits.depth} levels of objects and lists` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: [...path, i] });
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      if (isReservedKey(key))
        return { path: [...path, key], message: `"${key}" is a reserved name (it names a member of every object)` };
      stack.push({ value: (v as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  return undefined;
}
