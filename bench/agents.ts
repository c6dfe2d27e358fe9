/**
 * Agent runtime benchmark (issue 3), against a real Temporal dev server started here.
 *   npx tsx bench/agents.ts [--calls 1000] [--agents 1000] [--rounds 3]
 * 1. Reaction latency: Call-Receive signal sent → the strategy's action activity has run,
 *    one call at a time (no queueing), p50 / p90 / p99 / max.
 * 2. Density: N live agents on one worker (the worker, the client and the measurements share this
 *    process): RSS after start and after rounds of one call per agent, events processed per second
 *    when every agent is called at once, and history events per strategy run.
 */
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createAgentActivities } from '../src/activities/agents/registry.js';
import { AgentClient } from '../src/client/agents.js';
import { binaryPath } from '../src/stack/binaries.js';
import { scanflowSearchAttributes } from '../src/agents/conventions.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
const mb = () => Math.round(process.memoryUsage().rss / 1024 / 1024);

async function limit<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

async function run(): Promise<void> {
  const calls = arg('calls', 1000);
  const agentCount = arg('agents', 1000);
  const rounds = arg('rounds', 3);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: binaryPath('temporal') },
      ip: '127.0.0.1',
      searchAttributes: [...scanflowSearchAttributes],
      extraArgs: ['--log-level', 'error'],
    },
  });
  const connection = await Connection.connect({ address: env.address });
  const client = new Client({ connection, namespace: env.namespace ?? 'default' });
  const taskQueue = `bench-agents-${process.pid}`;
  const waiters = new Map<string, () => void>();
  const done = (key: string) => {
    waiters.get(key)?.();
    waiters.delete(key);
  };
  const marked = (key: string) => new Promise<void>((resolve) => waiters.set(key, resolve));
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: env.address }),
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowsPath: fileURLToPath(new URL('../src/workflows/agent-bundle.ts', import.meta.url)),
    maxCachedWorkflows: agentCount + 10,
    activities: createAgentActivities({
      client,
      actions: {
        async mark(args: { key: string }) {
          done(args.key);
          return null;
        },
      },
    }),
  });
  const agents = new AgentClient(client, { taskQueue });
  const spec = (app: string, name: string) => ({
    app,
    name,
    strategies: [
      { name: 'react', when: { call: 'go' }, then: [{ activity: 'mark', args: { key: { $ref: 'event.args.key' } } }] },
    ],
  });

  await worker.runUntil(async () => {
    // 1. latency
    const probe = await agents.start(spec('bench', 'probe'));
    const latencies: number[] = [];
    for (let i = 0; i < calls; i++) {
      const key = `p${i}`;
      const finished = marked(key);
      const t0 = performance.now();
      await probe.signalCall({ name: 'go', args: { key }, callId: key });
      await finished;
      latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    const history = await client.workflow.getHandle(probe.workflowId).fetchHistory();
    const state = await probe.state();
    console.log(`reaction latency, ${calls} sequential calls (signal sent → action activity ran):`);
    console.log(
      `  p50 ${percentile(latencies, 0.5).toFixed(1)} ms  p90 ${percentile(latencies, 0.9).toFixed(1)} ms  p99 ${percentile(latencies, 0.99).toFixed(1)} ms  max ${(latencies.at(-1) ?? NaN).toFixed(1)} ms`,
    );
    console.log(
      `  continue-as-new generations during the run: ${state.generations}; events in the current run: ${history.events?.length}`,
    );
    await probe.stop();

    // 2. density
    const rssBefore = mb();
    const startBegan = performance.now();
    const handles = new Array<Awaited<ReturnType<typeof agents.start>>>(agentCount);
    await limit([...Array(agentCount).keys()], 32, async (i) => {
      handles[i] = await agents.start(spec('density', `a${i}`));
    });
    const startSecs = (performance.now() - startBegan) / 1000;
    console.log(
      `density: started ${agentCount} agents in ${startSecs.toFixed(1)} s (${(agentCount / startSecs).toFixed(0)}/s); RSS ${rssBefore} → ${mb()} MB`,
    );
    const historyLength = async () =>
      (await client.workflow.getHandle(handles[0]!.workflowId).fetchHistory()).events?.length ?? 0;
    const lengths = [await historyLength()];
    for (let r = 0; r < rounds; r++) {
      const began = performance.now();
      const finished = handles.map((_, i) => marked(`r${r}-${i}`));
      await limit([...handles.keys()], 64, (i) =>
        handles[i]!.signalCall({ name: 'go', args: { key: `r${r}-${i}` }, callId: `r${r}-${i}` }),
      );
      await Promise.all(finished);
      const secs = (performance.now() - began) / 1000;
      console.log(
        `  round ${r + 1}: ${agentCount} events (one per agent) processed in ${secs.toFixed(2)} s = ${(agentCount / secs).toFixed(0)} events/s; RSS ${mb()} MB`,
      );
      lengths.push(await historyLength());
    }
    const perRun = lengths.slice(1).map((l, i) => l - (lengths[i] as number));
    console.log(
      `  history events per strategy run (signal + workflow tasks + one activity), per round: ${perRun.join(', ')}; after start: ${lengths[0]}`,
    );
    console.log(
      `  peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB (worker + client + bench in one process)`,
    );
    await limit([...handles.keys()], 32, (i) =>
      client.workflow.getHandle(handles[i]!.workflowId).terminate('bench done'),
    );
  });
  await connection.close();
  await env.teardown();
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
