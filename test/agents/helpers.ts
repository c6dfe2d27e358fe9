/** Shared pieces of the agent tests: a worker with recording activities (real activities, run by a real worker). */
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createAgentActivities, type NamedActivities } from '../../src/activities/agents/registry.js';
import { AgentClient } from '../../src/client/agents.js';
import type { Json } from '../../src/agents/spec.js';
import type { TemporalTestContext } from '../harness/env.js';

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
