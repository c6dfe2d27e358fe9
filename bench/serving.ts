/**
 * The model server at the limit of the machine, side by side in one run (issue 13):
 *
 *   npx tsx bench/serving.ts [--seconds 2] [--rounds 3] [--concurrency 1,16,64] [--qps 500,1000,1500,2000,2500,3000]
 *                            [--loadgen-seconds 6] [--before <checkout>] [--before-commit 0a293e5] [--skip-loadgen]
 *
 * - the limit: the in-process model (the case study's CNN, src/ml/classifier.ts, untrained: same
 *   cost), samples/s at batch 1 and 64, through model.apply and through the compiled op chain;
 * - the server before (main at --before-commit, checked out in a temporary git worktree, or the
 *   checkout given with --before) and after, over JSON, binary tensors and gRPC, after with one
 *   process and with --workers 2, with model.apply instead of the compiled forward pass
 *   (SCANFLOW_SERVING_COMPILED=0, JSON), and the Fastify trial (serving-fastify-server.ts: the same server
 *   on Fastify instead of node:http): requests/s, p50, p99 in closed loop at each concurrency
 *   (1 image per request, prediction log on, as deployed), each point taken in --rounds rounds
 *   interleaved with every other server's and pooled, so a load swing hits all of them alike;
 * - the highest LoadGen Server-scenario QPS (src/loadgen, Poisson arrivals) with a VALID result at
 *   p99 <= 10 ms, going up the --qps ladder until a run is INVALID; each rung also shows what the
 *   server saw (its /metrics before and after): mean batch size, the share of requests it answered
 *   in over 10 ms, GC time, and its event-loop lag p99, to tell a slow server from a starved client.
 * Every figure is printed with the 1-minute load average at the time and the CPU split (client =
 * this process, server = the server's processes, rest = everything else on the machine), since
 * client and server share the machine's cores with whatever else runs, and closed-loop points with
 * the server's CPU time per request (what a contended machine distorts least).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalDirectoryStore } from '../src/knowledge/local-store.js';
import { ModelRegistry } from '../src/knowledge/model-registry.js';
import {
  HttpOipSut,
  ImageQsl,
  computeSummary,
  resolveSettings,
  runLoadgen,
  type CompleteFn,
  type IssuedQuery,
  type SystemUnderTest,
} from '../src/loadgen/index.js';
import { buildClassifier } from '../src/ml/classifier.js';
import { loadMnist } from '../src/ml/mnist.js';
import { servableFromLayersModel } from '../src/serving/servable-model.js';
import { ManagedProcess, httpOk } from '../src/stack/process.js';
import { freePort } from '../src/stack/ports.js';
import {
  SAMPLES,
  closedLoop,
  cpuMeter,
  pool,
  fmtCpu,
  load,
  senders,
  type Point,
  type Protocol,
  type Send,
} from './serving-clients.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

interface Server {
  name: string;
  url: string;
  grpcPort?: number;
  proc: ManagedProcess;
  protocols: Protocol[];
}

/** A LoadGen SUT over any of the three senders: one request per sample. */
class SendSut implements SystemUnderTest {
  constructor(
    readonly name: string,
    private readonly send: Send,
  ) {}
  issueQuery(query: IssuedQuery, complete: CompleteFn): void {
    for (const s of query.samples)
      this.send(s.index % SAMPLES).then(
        (label) => complete([{ id: s.id, ok: true, label }]),
        (err: Error) => complete([{ id: s.id, ok: false, error: err.message }]),
      );
  }
}

async function serverScenario(
  sut: SystemUnderTest,
  qsl: ImageQsl,
  qps: number,
  seconds: number,
): Promise<{ valid: boolean; p99Ms: number }> {
  const settings = resolveSettings({
    scenario: 'Server',
    targetQps: qps,
    targetLatencyNs: 10_000_000,
    targetLatencyPercentile: 0.99,
    minDurationMs: seconds * 1000,
    maxDurationMs: seconds * 3000,
    minQueryCount: Math.min(qps * seconds, 4000),
    performanceSampleCount: SAMPLES,
  });
  const { log } = await runLoadgen({ settings, sut, qsl, drainTimeoutMs: 10_000 });
  const summary = computeSummary(log, settings, sut.name);
  return { valid: summary.result === 'VALID', p99Ms: summary.targetPercentileLatencyNs / 1e6 };
}

/** Metric samples of a Prometheus text page, by their full name with labels. */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** What the server saw between two scrapes (see the header). */
function serverSide(before: Map<string, number>, after: Map<string, number>): string {
  const d = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
  const batches = d('scanflow_inference_batch_size_count{model="mnist"}');
  const images = d('scanflow_inference_batch_size_sum{model="mnist"}');
  const requests = d('scanflow_inference_request_duration_seconds_count{model="mnist"}');
  // Label order differs between one registry and the cluster's aggregate: find the bucket by its le.
  const bucket = [...after.keys()].find(
    (k) => k.startsWith('scanflow_inference_request_duration_seconds_bucket{') && k.includes('le="0.01"'),
  );
  const within = bucket ? d(bucket) : 0;
  const gcMs = [...after.keys()]
    .filter((k) => k.startsWith('nodejs_gc_duration_seconds_sum'))
    .reduce((n, k) => n + d(k) * 1000, 0);
  const lag = after.get('nodejs_eventloop_lag_p99_seconds');
  return `server: batch ${batches ? (images / batches).toFixed(1) : '?'}, ${requests ? ((100 * (requests - within)) / requests).toFixed(1) : '?'}% over 10 ms, GC ${gcMs.toFixed(0)} ms, loop lag p99 ${lag === undefined ? '?' : (lag * 1000).toFixed(1)} ms`;
}

async function startServer(
  name: string,
  checkout: string,
  storeDir: string,
  logDir: string,
  extra: string[],
  protocols: Protocol[],
  script = 'src/serving/main.ts',
  env: NodeJS.ProcessEnv = {},
): Promise<Server> {
  const port = await freePort();
  const grpcPort = protocols.includes('grpc') ? await freePort() : undefined;
  const url = `http://127.0.0.1:${port}`;
  const proc = await ManagedProcess.start({
    name: `serving-${port}`,
    command: process.execPath,
    args: [
      '--import',
      'tsx',
      join(checkout, script),
      '--store',
      storeDir,
      '--model',
      'mnist',
      '--port',
      String(port),
      ...(grpcPort !== undefined ? ['--grpc-port', String(grpcPort)] : []),
      ...extra,
    ],
    cwd: checkout,
    env,
    logFile: join(logDir, `serving-${port}.log`),
    ready: () => httpOk(`${url}/v2/health/ready`),
  });
  return { name, url, proc, protocols, ...(grpcPort !== undefined ? { grpcPort } : {}) };
}

async function inProcess(
  seconds: number,
  rounds: number,
): Promise<Array<{ how: string; batch: number; ips: number; p99: number; load: string }>> {
  const layers = buildClassifier(1);
  // model.apply (the server before) and the compiled op chain (forward-pass.ts, the server after),
  // in interleaved rounds like the servers.
  const cases = [false, true].flatMap((compiled) =>
    [1, 64].map((batch) => ({
      how: compiled ? 'compiled ops' : 'model.apply',
      batch,
      model: servableFromLayersModel(layers, '1', { compiled }),
      x: new Float32Array(batch * 784).fill(0.3),
      times: [] as number[],
      elapsed: 0,
      loads: [] as number[],
    })),
  );
  for (const c of cases) for (let i = 0; i < 10; i += 1) await c.model.predict(c.x, c.batch);
  for (let round = 0; round < rounds; round += 1)
    for (const c of cases) {
      const start = performance.now();
      while (performance.now() - start < (seconds * 1000) / 2) {
        const t = performance.now();
        await c.model.predict(c.x, c.batch);
        c.times.push(performance.now() - t);
      }
      c.elapsed += (performance.now() - start) / 1000;
      c.loads.push(Number(load()));
    }
  layers.dispose();
  return cases.map((c) => {
    c.times.sort((a, b) => a - b);
    return {
      how: c.how,
      batch: c.batch,
      ips: (c.times.length * c.batch) / c.elapsed,
      p99: c.times[Math.floor(c.times.length * 0.99)] ?? NaN,
      load: `${Math.min(...c.loads).toFixed(1)}–${Math.max(...c.loads).toFixed(1)}`,
    };
  });
}

async function run(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '1,16,64' },
      qps: { type: 'string', default: '500,1000,1500,2000,2500,3000' },
      'loadgen-seconds': { type: 'string', default: '6' },
      before: { type: 'string' },
      'before-commit': { type: 'string', default: '0a293e5' },
      'skip-loadgen': { type: 'boolean', default: false },
    },
  });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds must be an integer >= 1, got ${values.rounds}`);
  const concurrencies = values.concurrency.split(',').map(Number);
  const ladder = values.qps.split(',').map(Number);
  const loadgenSeconds = Number(values['loadgen-seconds']);
  if (!(seconds > 0) || concurrencies.some((c) => !(c >= 1)) || ladder.some((q) => !(q > 0)) || !(loadgenSeconds > 0))
    throw new Error(
      '--seconds and --loadgen-seconds must be > 0, --concurrency and --qps comma lists of positive numbers',
    );

  const work = mkdtempSync(join(tmpdir(), 'scanflow-bench-serving-'));
  let worktree: string | undefined;
  let before = values.before;
  if (!before) {
    worktree = join(work, 'before');
    execFileSync('git', ['worktree', 'add', '--detach', worktree, values['before-commit']], {
      cwd: repoRoot,
      stdio: 'ignore',
    });
    symlinkSync(join(repoRoot, 'node_modules'), join(worktree, 'node_modules'));
    before = worktree;
  }
  if (!existsSync(join(before, 'src/serving/main.ts')))
    throw new Error(`--before ${before} has no src/serving/main.ts`);

  const storeDir = join(work, 'store');
  const registry = new ModelRegistry(new LocalDirectoryStore(storeDir), 'mnist');
  const model = buildClassifier(1);
  const { version } = await registry.register({
    model,
    metrics: { accuracy: 0 },
    lineage: { datasets: [], notes: 'bench/serving.ts: untrained CNN, same cost as the trained one' },
  });
  await registry.promote(version);
  model.dispose();
  const mnist = loadMnist('test', SAMPLES);
  const images = Array.from({ length: SAMPLES }, (_, i) => mnist.pixels.subarray(i * 784, (i + 1) * 784));
  const qsl = new ImageQsl('mnist-test', mnist, SAMPLES);

  console.error(`in-process model (load ${load()})`);
  const limit = await inProcess(seconds, rounds);

  const servers: Server[] = [];
  const table: Array<{ server: string; protocol: Protocol; concurrency: number; point: Point }> = [];
  const loadgen: Array<{ server: string; protocol: Protocol; best?: number; runs: string[] }> = [];
  try {
    const logs = join(work, 'logs');
    servers.push(
      await startServer(
        `before (${values.before ? 'checkout' : values['before-commit']})`,
        before,
        join(work, 'store'),
        logs,
        [],
        ['json', 'binary', 'grpc'],
      ),
    );
    servers.push(await startServer('after, 1 process', repoRoot, storeDir, logs, [], ['json', 'binary', 'grpc']));
    servers.push(
      await startServer('after, --workers 2', repoRoot, storeDir, logs, ['--workers', '2'], ['json', 'binary', 'grpc']),
    );
    servers.push(
      await startServer('after, model.apply', repoRoot, storeDir, logs, [], ['json'], 'src/serving/main.ts', {
        SCANFLOW_SERVING_COMPILED: '0',
      }),
    );
    servers.push(
      await startServer(
        'after on Fastify, 1 process',
        repoRoot,
        storeDir,
        logs,
        [],
        ['json', 'binary'],
        'bench/serving-fastify-server.ts',
      ),
    );
    const clients = new Map(servers.map((s) => [s, senders(s, images)]));
    // Warm-up: every server and protocol.
    for (const s of servers) for (const p of s.protocols) await closedLoop(clients.get(s)![p], 8, 1, s.proc.pid);
    for (const c of concurrencies) {
      const points = servers.flatMap((s) => s.protocols.map((p) => ({ s, p, rounds: [] as Point[] })));
      for (let round = 0; round < rounds; round += 1)
        for (const { s, p, rounds: taken } of points) {
          const point = await closedLoop(clients.get(s)![p], c, seconds, s.proc.pid);
          taken.push(point);
          console.error(
            `${s.name} ${p} c=${c} round ${round + 1}: ${point.rps.toFixed(0)} req/s p99 ${point.p99.toFixed(2)} ms (load ${point.load})`,
          );
        }
      for (const { s, p, rounds: taken } of points)
        table.push({ server: s.name, protocol: p, concurrency: c, point: pool(taken) });
    }
    if (!values['skip-loadgen']) {
      const runs: Array<[Server, Protocol]> = [
        [servers[0]!, 'json'],
        [servers[1]!, 'json'],
        [servers[0]!, 'grpc'],
        [servers[1]!, 'grpc'],
        [servers[2]!, 'json'],
        [servers[2]!, 'binary'],
        [servers[2]!, 'grpc'],
      ];
      for (const [s, p] of runs) {
        const sut =
          p === 'json'
            ? new HttpOipSut({ url: s.url, model: 'mnist', qsl })
            : new SendSut(`${p} ${s.url}`, clients.get(s)![p]);
        const entry: (typeof loadgen)[number] = { server: s.name, protocol: p, runs: [] };
        for (const qps of ladder) {
          const meter = cpuMeter(s.proc.pid);
          const seen = await scrape(s.url);
          const r = await serverScenario(sut, qsl, qps, loadgenSeconds);
          const cpu = meter();
          entry.runs.push(
            `${qps}: ${r.valid ? 'VALID' : 'INVALID'} p99 ${r.p99Ms.toFixed(2)} ms (load ${load()}, ${fmtCpu(cpu)}; ${serverSide(seen, await scrape(s.url))})`,
          );
          console.error(`loadgen ${s.name} ${p} ${entry.runs[entry.runs.length - 1]}`);
          if (!r.valid) break;
          entry.best = qps;
        }
        loadgen.push(entry);
      }
    }
  } finally {
    await Promise.all(servers.map((s) => s.proc.stop()));
    if (worktree) execFileSync('git', ['worktree', 'remove', '--force', worktree], { cwd: repoRoot, stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  }

  console.log(
    `\nModel server, CNN (untrained, same cost), 1 image per request, prediction log on; ${cpus().length} cores shared by client and server; ${new Date().toISOString()}`,
  );
  console.log('\nThe limit: the in-process model');
  console.log('| forward pass | batch | images/s | call p99 ms | load avg |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of limit)
    console.log(`| ${r.how} | ${r.batch} | ${r.ips.toFixed(0)} | ${r.p99.toFixed(2)} | ${r.load} |`);
  console.log(`\nClosed loop, ${rounds} interleaved rounds of ${seconds} s per point, pooled`);
  console.log(
    '| concurrency | server | protocol | req/s | p50 ms | p99 ms | server CPU µs/req | failed | load avg | CPU split |',
  );
  console.log('|---:|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const { server, protocol, concurrency, point: p } of table)
    console.log(
      `| ${concurrency} | ${server} | ${protocol} | ${p.rps.toFixed(0)} | ${p.p50.toFixed(2)} | ${p.p99.toFixed(2)} | ${((p.cpu.serverSeconds * 1e6) / (p.latencies.length || 1)).toFixed(0)} | ${p.failed} | ${p.load} | ${fmtCpu(p.cpu)} |`,
    );
  if (loadgen.length > 0) {
    console.log(`\nLoadGen Server scenario (Poisson), p99 <= 10 ms, ${loadgenSeconds} s per run: highest VALID QPS`);
    console.log('| server | protocol | highest VALID QPS | runs |');
    console.log('|---|---|---:|---|');
    for (const l of loadgen)
      console.log(`| ${l.server} | ${l.protocol} | ${l.best ?? 'none'} | ${l.runs.join('; ')} |`);
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
