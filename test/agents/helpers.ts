/**
 * The shared test bed of the agent integration tests: one Temporal connection per test file, and
 * per test a fresh task queue served by a real worker with recording activities, an AgentClient on
 * that queue and a unique app name.
 */
import { afterAll, beforeAll } from '@jest/globals';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createAgentActivities, type NamedActivities } from '../../src/activities/agents/registry.js';
import { AgentClient } from '../../src/client/agents.js';
import type { Json } from '../../src/agents/spec.js';
import { connectTemporal, uniqueTaskQueue, type TemporalTestContext } from '../harness/env.js';

export const agentBundlePath = fileURLToPath(new URL('./fixtures/workflows.ts', import.meta.url));

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundled once per test file: webpack takes seconds and every worker of the file reuses it. */
export function agentBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: agentBundlePath,
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  return bundle;
}

export interface Recorded {
  activity: string;
  args: Json;
  at: number;
}

/** Activities that record every call: `note` (an action), `readValue` (a sensor returning the configured value). */
export function recordingActivities() {
  const calls: Recorded[] = [];
  const values = new Map<string, Json>();
  const sensors: NamedActivities = {
    async readValue(args: { key: string }): Promise<Json> {
      calls.push({ activity: 'readValue', args, at: Date.now() });
      return values.get(args.key) ?? null;
    },
  };
  const actions: NamedActivities = {
    async note(args: Json): Promise<Json> {
      calls.push({ activity: 'note', args, at: Date.now() });
      return { noted: args };
    },
    /** A slow action (a strategy slower than its interval). */
    async pause(args: { ms: number }): Promise<Json> {
      calls.push({ activity: 'pause', args, at: Date.now() });
      await new Promise((r) => setTimeout(r, args.ms));
      return { paused: args.ms };
    },
    /** An action with a big result (`bytes` characters). */
    async big(args: { bytes: number; n?: number }): Promise<Json> {
      calls.push({ activity: 'big', args, at: Date.now() });
      return { n: args.n ?? null, blob: 'x'.repeat(args.bytes) };
    },
  };
  return {
    calls,
    values,
    sensors,
    actions,
    noted: (tag?: string) =>
      calls.filter(
        (c) => c.activity === 'note' && (tag === undefined || (c.args as { tag?: string } | null)?.tag === tag),
      ),
  };
}

export async function agentWorker(
  t: TemporalTestContext,
  taskQueue: string,
  activities: { sensors?: NamedActivities; actions?: NamedActivities },
): Promise<Worker> {
  return await Worker.create({
    connection: t.workerConnection,
    namespace: t.namespace,
    taskQueue,
    workflowBundle: await agentBundle(),
    activities: createAgentActivities({ client: t.client, ...activities }),
  });
}

export function agents(t: TemporalTestContext, taskQueue: string): AgentClient {
  return new AgentClient(t.client, { taskQueue });
}

/** Polls until `check` returns a value (not undefined) or the deadline passes; the last error is thrown on timeout. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let n = 0;
/** A unique app name per test so schedule and workflow ids never collide between runs. */
export function uniqueApp(prefix: string): string {
  n += 1;
  return `${prefix}-${process.pid.toString(36)}${Date.now().toString(36).slice(-5)}${n}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What one test gets from the bed. */
export interface AgentTestRun {
  t: TemporalTestContext;
  taskQueue: string;
  rec: ReturnType<typeof recordingActivities>;
  client: AgentClient;
  app: string;
  /** Runs `fn` while the worker serves the task queue, then shuts the worker down. */
  runUntil<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * Call once in a `describe`: connects to the test Temporal before its tests and closes after.
 *   const bed = agentTestBed();
 *   it('…', async () => { const { client, app, rec, runUntil } = await bed.start('calls'); await runUntil(async () => …); });
 */
export function agentTestBed() {
  let context: TemporalTestContext | undefined;
  beforeAll(async () => {
    context = await connectTemporal();
  });
  afterAll(async () => {
    await context?.close();
  });
  const bed = {
    /** The connection of this test file (available inside tests and hooks). */
    get t(): TemporalTestContext {
      if (!context) throw new Error('agentTestBed: Temporal is connected in beforeAll; use bed.t inside a test');
      return context;
    },
    /** A fresh task queue with a worker, recording activities, a client and a unique app, named after `name`. */
    async start(name: string): Promise<AgentTestRun> {
      const t = bed.t;
      const taskQueue = uniqueTaskQueue(`agents-${name}`);
      const rec = recordingActivities();
      const worker = await agentWorker(t, taskQueue, rec);
      return {
        t,
        taskQueue,
        rec,
        client: agents(t, taskQueue),
        app: uniqueApp(name),
        runUntil: (fn) => worker.runUntil(fn),
      };
    },
  };
  return bed;
}
