/**
 * `npm run bench:loadgen`: Scanflow's LoadGen beside the official MLPerf LoadGen (PyPI
 * mlcommons-loadgen, bench/loadgen_official.py) on the same SUT with the same settings, one after
 * the other in one run, and the generator's own overhead. Both generators run in their own process
 * (ours: this script with --child), so each one's CPU is its whole client: schedule, HTTP, logs.
 *
 * 1. Parity on a fixed-delay OIP-v2 server (its own process; 5 ms per request, 4 at a time:
 *    capacity 800 requests/s): Server at 80 % (≥ 10,000 queries) and 120 % of capacity; scheduled
 *    QPS (also against the target rate), p50/p99 latency, verdict, and each generator's CPU.
 *    Same seed, same schedule: our schedule is LoadGen's (std::mt19937 + its exponential), so the
 *    query counts and scheduled QPS must be identical; latencies and CPU are what differ.
 * 2. Overhead: scheduled → issued delay at 1,000 QPS against the in-process null SUT, next to the
 *    machine's own timer lateness measured at the same time (a bare Python process oversleeping a
 *    1 ms sleep), and the highest Server QPS the generator sustains on one core (taskset).
 * 3. With --store <dir> (a knowledge base holding a production mnist-classifier; copy it first,
 *    the server writes to it): the model server's Server capacity at a 10 ms p99 bound, its Offline
 *    samples/s, and the in-process model's (tfjs SUT) Offline samples/s: the machine's limit.
 *
 * Options: --quick (shorter runs), --store <dir>, --skip-parity, --skip-overhead. Every line
 * carries the 1-minute load average: the machine is shared.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { openQsl, openSut } from '../src/activities/loadgen/loadgen-activities.js';
import type { QslSpec, SutSpec } from '../src/activities/loadgen/types.js';
import { openKnowledgeStore } from '../src/knowledge/open-store.js';
import { loadMnist } from '../src/ml/mnist.js';
import {
  computeSummary,
  encodePixels,
  ImageQsl,
  resolveSettings,
  runLoadgen,
  type QslImages,
  type TestSettingsInput,
} from '../src/loadgen/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    store: { type: 'string' },
    child: { type: 'string' },
    'skip-parity': { type: 'boolean', default: false },
    'skip-overhead': { type: 'boolean', default: false },
  },
});
const la = () => loadavg()[0]!.toFixed(2);
const ms = (ns: number | null | undefined) => (ns == null ? '-' : (ns / 1e6).toFixed(2));

interface Figures {
  generator: string;
  result: string;
  scheduledQps: number | null;
  completedQps: number | null;
  queries: number | null;
  p50Ns: number | null;
  p99Ns: number | null;
  cpuSeconds: number;
  wallSeconds: number;
  load: string;
  issueDelay?: { p50Ns: number; p99Ns: number; maxNs: number };
  samplesFailed?: number;
  /** Why an INVALID run is INVALID: the summary's recommendations (one per unmet constraint). */
  reasons?: string[];
}

/** ` [reason reason]` for an INVALID run, or '' for a VALID one. */
const why = (f: Figures) => (f.result === 'VALID' || !f.reasons?.length ? '' : ` [${f.reasons.join(' ')}]`);

/** What a --child run does: one LoadGen run in this process, its figures as one JSON line. */
interface ChildSpec {
  settings: TestSettingsInput;
  sut: SutSpec;
  qsl?: QslSpec;
  store?: string;
}

async function child(spec: ChildSpec): Promise<void> {
  const store = openKnowledgeStore({
    kind: 'local',
    directory: resolve(spec.store ?? mkdtempSync(join(tmpdir(), 'lg-'))),
  });
  const settings = resolveSettings(spec.settings);
  const qsl = await openQsl(store, spec.qsl, spec.sut);
  const sut = await openSut(store, spec.sut, qsl, settings);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await runLoadgen({ settings, sut, qsl });
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  await sut.close?.();
  const summary = computeSummary(result.log, settings, sut.name);
  const figures: Figures = {
    generator: 'scanflow',
    result: summary.result,
    scheduledQps: summary.scheduledSamplesPerSecond ?? summary.samplesPerSecond ?? null,
    completedQps: summary.completedSamplesPerSecond ?? null,
    queries: summary.queriesIssued,
    p50Ns: summary.latency.percentilesNs['50.00']!,
    p99Ns: summary.latency.percentilesNs['99.00']!,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    wallSeconds: wall,
    load: la(),
    issueDelay: summary.issueDelay,
    samplesFailed: summary.samplesFailed,
    reasons: summary.recommendations,
  };
  console.log(JSON.stringify(figures));
}

/** Our generator in its own process (optionally pinned to one core). */
async function ours(spec: ChildSpec, options: { core?: number } = {}): Promise<Figures> {
  const argv = ['--import', 'tsx', join(root, 'bench/loadgen.ts'), '--child', JSON.stringify(spec)];
  const [cmd, cmdArgs] =
    options.core === undefined
      ? [process.execPath, argv]
      : ['taskset', ['-c', String(options.core), process.execPath, ...argv]];
  const out = await new Promise<string>((resolvePromise, reject) => {
    const p = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } });
    let text = '';
    p.stdout.on('data', (c: Buffer) => (text += c.toString()));
    p.once('exit', (code) => (code === 0 ? resolvePromise(text) : reject(new Error(`--child exited with ${code}`))));
  });
  const f = JSON.parse(out.trim().split('\n').pop()!) as Figures;
  f.load = la();
  return f;
}

async function startServer(script: string, argv: string[]): Promise<{ url: string; child: ChildProcess }> {
  const p = spawn(process.execPath, ['--import', 'tsx', join(root, script), ...argv], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const url = await new Promise<string>((resolvePromise, reject) => {
    let buffer = '';
    p.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n')) {
        try {
          const event = JSON.parse(line) as { event?: string; port?: number };
          if (event.event === 'listening') resolvePromise(`http://127.0.0.1:${event.port}`);
        } catch {
          // not a JSON line yet
        }
      }
    });
    p.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { url, child: p };
}

async function official(argv: string[]): Promise<Figures> {
  const path = execFileSync('bash', [join(root, 'scripts/provision-loadgen'), '--print-path'])
    .toString()
    .trim();
  const out = await new Promise<string>((resolvePromise, reject) => {
    const p = spawn('python3', [join(root, 'bench/loadgen_official.py'), ...argv], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, PYTHONPATH: path },
    });
    let text = '';
    p.stdout.on('data', (c: Buffer) => (text += c.toString()));
    p.once('exit', (code) => (code === 0 ? resolvePromise(text) : reject(new Error(`official exited with ${code}`))));
  });
  const r = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number | string | string[] | null>;
  return {
    generator: 'official',
    result: String(r.result),
    scheduledQps: (r.scheduledSamplesPerSecond ?? r.samplesPerSecond) as number | null,
    completedQps: r.completedSamplesPerSecond as number | null,
    queries: r.queries as number | null,
    p50Ns: r.p50Ns as number | null,
    p99Ns: r.p99Ns as number | null,
    cpuSeconds: r.cpuSeconds as number,
    wallSeconds: r.wallSeconds as number,
    load: la(),
    samplesFailed: r.failed as number,
    reasons: (r.reasons as string[] | undefined) ?? [],
  };
}

function row(label: string, f: Figures, target?: number): string {
  const vsTarget = target && f.scheduledQps ? ` (${((f.scheduledQps / target - 1) * 100).toFixed(2)} %)` : '';
  return (
    `| ${label} | ${f.generator} | ${f.result} | ${f.queries ?? '-'} | ${f.scheduledQps?.toFixed(2) ?? '-'}${vsTarget} | ` +
    `${f.completedQps?.toFixed(1) ?? '-'} | ${ms(f.p50Ns)} | ${ms(f.p99Ns)} | ${f.cpuSeconds.toFixed(2)} / ${f.wallSeconds.toFixed(1)} | ` +
    `${f.queries && f.cpuSeconds ? ((f.cpuSeconds / f.queries) * 1e6).toFixed(0) : '-'} | ${f.load} |`
  );
}

const HEADER =
  '| run | generator | result | queries | scheduled QPS (vs target) | completed QPS | p50 ms | p99 ms | CPU s / wall s | CPU µs/query | load avg |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|';

function parityLine(a: Figures, b: Figures): string {
  const qps = a.scheduledQps && b.scheduledQps ? ((a.scheduledQps / b.scheduledQps - 1) * 100).toFixed(3) : '-';
  const d = (x: number | null, y: number | null) =>
    x == null || y == null ? '-' : `${(((x - y) / y) * 100).toFixed(1)} % (${((x - y) / 1e6).toFixed(2)} ms)`;
  return (
    `  ours vs official: scheduled QPS ${qps} %, queries ${a.queries}/${b.queries}, p50 ${d(a.p50Ns, b.p50Ns)}, ` +
    `p99 ${d(a.p99Ns, b.p99Ns)}, verdicts ${a.result}/${b.result}, CPU ${a.cpuSeconds.toFixed(2)} s / ${b.cpuSeconds.toFixed(2)} s`
  );
}

/**
 * The machine's own lateness, weighted like the generator's issue delay: a bare open-loop Python
 * process with a tick due every 1 ms (1,000/s, fixed times from its start); each tick's lateness is
 * when the process woke for it minus when it was due, so a 200 ms stall counts 200 late ticks, as
 * it delays 200 of our queries at 1,000 QPS. Percentiles in ms.
 */
function machineTimerProbe(seconds: number): Promise<string> {
  const code = `
import time
late = []
start = time.perf_counter()
k = 0
while True:
    now = time.perf_counter()
    if now - start >= ${seconds}:
        break
    due = start + k * 0.001
    if due > now:
        time.sleep(due - now)
        now = time.perf_counter()
    while start + k * 0.001 <= now:
        late.append(now - (start + k * 0.001))
        k += 1
late.sort()
n = len(late)
print("%.3f %.3f %.2f %d" % (late[n // 2] * 1e3, late[int(n * 0.99)] * 1e3, late[-1] * 1e3, n))
`;
  return new Promise((resolvePromise, reject) => {
    const p = spawn('python3', ['-c', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    p.stdout.on('data', (c: Buffer) => (text += c.toString()));
    p.once('exit', (c) => {
      if (c !== 0) return reject(new Error(`timer probe exited with ${c}`));
      const [p50, p99, max, n] = text.trim().split(' ');
      resolvePromise(
        `a bare open-loop 1,000/s Python timer: lateness p50 ${p50} ms, p99 ${p99} ms, max ${max} ms over ${n} ticks`,
      );
    });
  });
}

async function main(): Promise<void> {
  if (args.child) return child(JSON.parse(args.child) as ChildSpec);
  console.log(
    `# LoadGen benchmark (${new Date().toISOString()}, load average at start ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')})\n`,
  );
  // The official generator's samples: the first 1,024 MNIST test images, encoded as ours encodes them.
  const mnist = loadMnist('test') as QslImages;
  const qsl = new ImageQsl('mnist-test', mnist, 1024);
  const encoded = Array.from({ length: 1024 }, (_, i) => encodePixels(qsl.pixels(i)));
  const dir = mkdtempSync(join(tmpdir(), 'loadgen-bench-'));
  const bodies = join(dir, 'bodies.json');
  writeFileSync(bodies, JSON.stringify(encoded));
  const mnistQsl: QslSpec = { kind: 'mnist-test', performanceSampleCount: 1024 };

  // ---- 1. parity on the fixed-delay SUT -----------------------------------------------------
  // Both generators at the same time, each against its own fixed-delay server process: on a shared
  // machine whose load moves by the minute, only simultaneous runs see the same machine.
  if (!args['skip-parity']) {
    const capacity = 800;
    const servers = await Promise.all(
      [0, 1].map(() => startServer('src/loadgen/fixed-delay-server.ts', ['--delay-ms', '5', '--concurrency', '4'])),
    );
    try {
      console.log(
        `## Parity: fixed-delay OIP-v2 server (5 ms, 4 at a time: ${capacity} req/s; one per generator), Server scenario, target latency 100 ms, seed 0, both generators at once\n`,
      );
      console.log(HEADER);
      for (const [share, seconds] of [
        [0.8, args.quick ? 5 : 16],
        [1.2, args.quick ? 4 : 8],
      ] as const) {
        const qps = capacity * share;
        const settings: TestSettingsInput = { scenario: 'Server', targetQps: qps, minDurationMs: seconds * 1000 };
        const label = `${share * 100} % (${qps} QPS)`;
        const [a, b] = await Promise.all([
          ours({ settings, sut: { kind: 'http', url: servers[0]!.url, model: 'mnist-classifier' }, qsl: mnistQsl }),
          official([
            ...['--scenario', 'server', '--qps', String(qps), '--duration-ms', String(seconds * 1000)],
            ...['--url', servers[1]!.url, '--model', 'mnist-classifier', '--bodies', bodies],
            ...['--outdir', join(dir, `official-${share}`)],
          ]),
        ]);
        console.log(row(label, a, qps));
        console.log(row(label, b, qps));
        console.log(parityLine(a, b));
        for (const f of [a, b]) if (why(f)) console.log(`  ${f.generator} ${f.result}${why(f)}`);
      }
    } finally {
      for (const s of servers) s.child.kill('SIGTERM');
    }
  }

  // ---- 2. generator overhead ----------------------------------------------------------------
  if (!args['skip-overhead']) {
    console.log('\n## Generator overhead (in-process null SUT, its own process)\n');
    const seconds = args.quick ? 3 : 10;
    // All three at once (same machine, same moment): ours and the official LoadGen each with a
    // null SUT in its own process (the official one completes in its Python issue callback), and a
    // bare timer. With a null SUT a sample's latency (scheduled → answered) is the issue delay plus
    // one SUT call, the only figure the official LoadGen reports for it.
    const loadBefore = la();
    const [at1k, official1k, machine] = await Promise.all([
      ours({ settings: { scenario: 'Server', targetQps: 1000, minDurationMs: seconds * 1000 }, sut: { kind: 'null' } }),
      official([
        ...['--null', '--scenario', 'server', '--qps', '1000', '--duration-ms', String(seconds * 1000)],
        ...['--outdir', join(dir, 'official-null-1000')],
      ]),
      machineTimerProbe(seconds),
    ]);
    const delay = (f: Figures) =>
      `p50 ${ms(f.issueDelay?.p50Ns)} ms, p99 ${ms(f.issueDelay?.p99Ns)} ms, max ${ms(f.issueDelay?.maxNs)} ms`;
    const ratio = (x: number | null, y: number | null) => (x && y ? (x / y).toFixed(2) : '-');
    console.log(
      `- 1,000 QPS, scanflow: scheduled → issued delay ${delay(at1k)} over ${at1k.queries} queries; scheduled → answered p50 ${ms(at1k.p50Ns)} ms, p99 ${ms(at1k.p99Ns)} ms; CPU ${at1k.cpuSeconds.toFixed(2)} s in ${at1k.wallSeconds.toFixed(1)} s${why(at1k)}`,
    );
    console.log(
      `- 1,000 QPS, official LoadGen 6.0.17 (null SUT in its issue callback): scheduled → answered p50 ${ms(official1k.p50Ns)} ms, p99 ${ms(official1k.p99Ns)} ms over ${official1k.queries} queries; CPU ${official1k.cpuSeconds.toFixed(2)} s in ${official1k.wallSeconds.toFixed(1)} s${why(official1k)}`,
    );
    console.log(
      `- scanflow / official, scheduled → answered: p50 ×${ratio(at1k.p50Ns, official1k.p50Ns)}, p99 ×${ratio(at1k.p99Ns, official1k.p99Ns)} (load ${loadBefore} before, ${la()} after)`,
    );
    console.log(`- the machine at the same time: ${machine} (load ${la()})`);
    let best = 0;
    for (const qps of [2000, 5000, 10_000, 20_000, 40_000, 80_000]) {
      const r = await ours(
        {
          settings: { scenario: 'Server', targetQps: qps, minDurationMs: 3000, targetLatencyNs: 10e6 },
          sut: { kind: 'null' },
        },
        { core: 0 },
      );
      const kept = r.result === 'VALID';
      console.log(
        `- ${qps} QPS on core 0: ${r.result}${why(r)}, issue delay ${delay(r)}, CPU ${((r.cpuSeconds / r.wallSeconds) * 100).toFixed(0)} % of the core, ${((r.cpuSeconds / (r.queries ?? 1)) * 1e6).toFixed(1)} µs/query (load ${r.load})${kept ? '' : ' ← not sustained'}`,
      );
      if (!kept) break;
      best = qps;
    }
    console.log(`- highest sustained on core 0 (VALID at a 10 ms p99 bound): ${best || 'none'} QPS`);
    // Saturated: a rate no generator keeps up with, so it issues back to back; queries issued per
    // CPU second is what one core would sustain if the machine gave it the whole core.
    const sat = await ours(
      {
        settings: {
          scenario: 'Server',
          targetQps: 1e6,
          minDurationMs: 1000,
          maxQueryCount: 300_000,
          targetLatencyNs: 10e6,
        },
        sut: { kind: 'null' },
      },
      { core: 0 },
    );
    console.log(
      `- saturated (target 1,000,000 QPS, ${sat.queries} queries): issued ${((sat.queries ?? 0) / sat.wallSeconds).toFixed(0)}/s using ${((sat.cpuSeconds / sat.wallSeconds) * 100).toFixed(0)} % of core 0, ${((sat.cpuSeconds / (sat.queries ?? 1)) * 1e6).toFixed(1)} µs CPU/query: ${((sat.queries ?? 0) / sat.cpuSeconds).toFixed(0)} queries per CPU second (load ${sat.load})`,
    );
  }

  // ---- 3. the model server, with a trained model ------------------------------------------------
  if (!args.store) {
    console.log(
      '\n(model server capacity skipped: pass --store <copy of a knowledge dir> holding a production mnist-classifier)',
    );
    return;
  }
  const store = resolve(args.store);
  const offlineSeconds = args.quick ? 3 : 10;
  /** Offline sized from a first short run, so the one query lasts at least minDuration (else INVALID). */
  const offline = async (sut: SutSpec): Promise<Figures> => {
    let expectedQps = 1000;
    let r: Figures | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      r = await ours({
        settings: { scenario: 'Offline', expectedQps, minDurationMs: (attempt ? offlineSeconds : 1) * 1000 },
        sut,
        qsl: mnistQsl,
        store,
      });
      if (attempt && r.result === 'VALID') break;
      if (attempt) console.log(`  (Offline ${sut.kind}, attempt ${attempt + 1}: ${r.result}${why(r)})`);
      expectedQps = Math.max(100, Math.round((r.scheduledQps ?? 1000) * 1.3));
    }
    return r!;
  };
  const limit = await offline({ kind: 'tfjs', model: 'mnist-classifier' });
  const serving = await startServer('src/serving/main.ts', [
    ...['--store', store, '--model', 'mnist-classifier', '--port', '0', '--no-log'],
  ]);
  try {
    console.log('\n## Model server (OIP-v2 JSON, one image per query), p99 bound 10 ms\n');
    console.log(
      `- in-process model (tfjs SUT, the limit): Offline ${limit.scheduledQps?.toFixed(0)} samples/s, ${limit.result}${why(limit)} (CPU ${limit.cpuSeconds.toFixed(1)} s / ${limit.wallSeconds.toFixed(1)} s, load ${limit.load})`,
    );
    /**
     * The highest Server QPS with a VALID result at this p99 bound: up by doubling from 100, then
     * bisection to 5 % between the highest VALID rung and the INVALID one above it. Every rung runs at least 2,000 queries (longer than minDuration at low
     * rates): early stopping needs 459 queries with none over the bound and 838 with two, so a
     * short low-rate run is INVALID on a single stall although its p99 is well under the bound.
     */
    const capacity = async (boundMs: number): Promise<string> => {
      let bestQps = 0;
      let failedQps = 0;
      const tryQps = async (qps: number) => {
        const r = await ours({
          settings: {
            scenario: 'Server',
            targetQps: qps,
            minDurationMs: args.quick ? 5000 : 10_000,
            minQueryCount: args.quick ? 1000 : 2000,
            targetLatencyNs: boundMs * 1e6,
          },
          sut: { kind: 'http', url: serving.url, model: 'mnist-classifier' },
          qsl: mnistQsl,
        });
        console.log(
          `- p99 ≤ ${boundMs} ms, Server ${qps} QPS: ${r.result}${why(r)}, ${r.queries} queries, p50 ${ms(r.p50Ns)} ms, p99 ${ms(r.p99Ns)} ms, client CPU ${r.cpuSeconds.toFixed(1)} s / ${r.wallSeconds.toFixed(1)} s (load ${r.load})`,
        );
        return r.result === 'VALID';
      };
      // The whole ladder, not up to the first failure: the tail is not monotone in the rate on a
      // shared machine (a low rate can be INVALID on idle wake-ups while a higher one is VALID).
      for (let qps = 100; qps <= 6400; qps *= 2) {
        if (await tryQps(qps)) {
          bestQps = qps;
          failedQps = 0;
        } else {
          failedQps ||= qps;
          if (qps >= 4 * Math.max(bestQps, 100)) break;
        }
      }
      while (bestQps && failedQps && failedQps - bestQps > Math.max(10, bestQps * 0.05)) {
        const mid = Math.round((bestQps + failedQps) / 2);
        if (await tryQps(mid)) bestQps = mid;
        else failedQps = mid;
      }
      return `highest VALID Server QPS at p99 ≤ ${boundMs} ms: ${bestQps || 'none from 100 up'}${failedQps ? ` (INVALID at ${failedQps})` : ''}`;
    };
    const at10 = await capacity(10);
    console.log(`- ${at10}`);
    if (at10.includes('none'))
      console.log(`- ${await capacity(100)} (the machine's stalls put the 10 ms bound out of reach)`);
    const off = await offline({ kind: 'http', url: serving.url, model: 'mnist-classifier', batchSize: 64 });
    console.log(
      `- Offline ${off.scheduledQps?.toFixed(0)} samples/s over HTTP (batches of 64, ${off.result}${why(off)}, load ${off.load}) vs ${limit.scheduledQps?.toFixed(0)} in process (${limit.result})`,
    );
  } finally {
    serving.child.kill('SIGTERM');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
