/**
 * `npm run bench:loadgen`: Scanflow's LoadGen beside the official MLPerf LoadGen (PyPI
 * mlcommons-loadgen, bench/loadgen_official.py) on the same SUT with the same settings, one after
 * the other in one run, and the generator's own overhead.
 *
 * 1. Parity on a fixed-delay OIP-v2 server (its own process; 5 ms per request, 4 at a time:
 *    capacity 800 requests/s): Server at 80 % (≥ 10,000 queries) and 120 % of capacity; scheduled
 *    QPS, p50/p99 latency, verdict, and each generator's CPU seconds.
 * 2. Overhead: scheduled → issued delay at 1,000 QPS against the in-process null SUT, and the
 *    highest Server QPS the generator sustains against it on one core.
 * 3. With --store <dir> (a knowledge base holding a production mnist-classifier): the model
 *    server's Server capacity at a 10 ms p99 bound, its Offline samples/s, and the in-process model's.
 *
 * Options: --quick (shorter runs), --store <dir>. Every line carries the 1-minute load average:
 * the machine is shared.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadMnist } from '../src/ml/mnist.js';
import {
  computeSummary,
  encodePixels,
  HttpOipSut,
  ImageQsl,
  NullSut,
  resolveSettings,
  runLoadgen,
  SyntheticQsl,
  type LoadgenSummary,
  type QslImages,
  type SystemUnderTest,
  type TestSettingsInput,
} from '../src/loadgen/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, store: { type: 'string' } },
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
}

async function startServer(script: string, argv: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, script), ...argv], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n')) {
        try {
          const event = JSON.parse(line) as { event?: string; port?: number };
          if (event.event === 'listening') resolve(`http://127.0.0.1:${event.port}`);
        } catch {
          // not a JSON line yet
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { url, child };
}

async function ours(settingsInput: TestSettingsInput, sut: SystemUnderTest, qsl: ImageQsl | SyntheticQsl) {
  const settings = resolveSettings(settingsInput);
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const result = await runLoadgen({ settings, sut, qsl });
  const cpu = process.cpuUsage(cpu0);
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
    wallSeconds: (Date.now() - t0) / 1000,
    load: la(),
  };
  return { figures, summary };
}

function official(argv: string[]): Figures {
  const path = execFileSync('bash', [join(root, 'scripts/provision-loadgen'), '--print-path'])
    .toString()
    .trim();
  const out = execFileSync('python3', [join(root, 'bench/loadgen_official.py'), ...argv], {
    env: { ...process.env, PYTHONPATH: path },
    maxBuffer: 1 << 24,
  }).toString();
  const r = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number | string | null>;
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
  };
}

function row(label: string, f: Figures): string {
  return (
    `| ${label} | ${f.generator} | ${f.result} | ${f.queries ?? '-'} | ${f.scheduledQps?.toFixed(1) ?? '-'} | ` +
    `${f.completedQps?.toFixed(1) ?? '-'} | ${ms(f.p50Ns)} | ${ms(f.p99Ns)} | ${f.cpuSeconds.toFixed(1)} / ${f.wallSeconds.toFixed(1)} | ${f.load} |`
  );
}

const HEADER =
  '| run | generator | result | queries | scheduled QPS | completed QPS | p50 ms | p99 ms | CPU s / wall s | load avg |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|';

function parityLine(a: Figures, b: Figures): string {
  const qps = a.scheduledQps && b.scheduledQps ? ((a.scheduledQps / b.scheduledQps - 1) * 100).toFixed(2) : '-';
  const d = (x: number | null, y: number | null) =>
    x == null || y == null ? '-' : `${(((x - y) / y) * 100).toFixed(1)} % (${((x - y) / 1e6).toFixed(2)} ms)`;
  return `  scheduled QPS ${qps} %, p50 ${d(a.p50Ns, b.p50Ns)}, p99 ${d(a.p99Ns, b.p99Ns)}, verdicts ${a.result}/${b.result}`;
}

async function main(): Promise<void> {
  console.log(
    `# LoadGen benchmark (${new Date().toISOString()}, load average at start ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')})\n`,
  );
  // The same samples for both generators: MNIST test images, 1,024 loaded, encoded once.
  const mnist = loadMnist('test') as QslImages;
  const qsl = new ImageQsl('mnist-test', mnist, 1024);
  const encoded = Array.from({ length: 1024 }, (_, i) => encodePixels(qsl.pixels(i)));
  const dir = mkdtempSync(join(tmpdir(), 'loadgen-bench-'));
  const bodies = join(dir, 'bodies.json');
  writeFileSync(bodies, JSON.stringify(encoded));
  const imagesQsl = new ImageQsl(
    'mnist-test-1024',
    { ...mnist, count: 1024, pixels: mnist.pixels.subarray(0, 1024 * 784) },
    1024,
  );

  // ---- 1. parity on the fixed-delay SUT -----------------------------------------------------
  const capacity = 800;
  const server = await startServer('src/loadgen/fixed-delay-server.ts', ['--delay-ms', '5', '--concurrency', '4']);
  try {
    console.log(
      `## Parity: fixed-delay OIP-v2 server (5 ms, 4 at a time: ${capacity} req/s), Server scenario, target latency 100 ms\n`,
    );
    console.log(HEADER);
    for (const [share, seconds] of [
      [0.8, args.quick ? 5 : 16],
      [1.2, args.quick ? 4 : 8],
    ] as const) {
      const qps = capacity * share;
      const settings: TestSettingsInput = { scenario: 'Server', targetQps: qps, minDurationMs: seconds * 1000 };
      const sut = new HttpOipSut({ url: server.url, model: 'mnist-classifier', qsl: imagesQsl });
      const a = (await ours(settings, sut, imagesQsl)).figures;
      await sut.close();
      console.log(row(`${share * 100} % (${qps} QPS)`, a));
      const b = official([
        '--scenario',
        'server',
        '--qps',
        String(qps),
        '--duration-ms',
        String(seconds * 1000),
        '--url',
        server.url,
        '--model',
        'mnist-classifier',
        '--bodies',
        bodies,
        '--outdir',
        join(dir, `official-${share}`),
      ]);
      console.log(row(`${share * 100} % (${qps} QPS)`, b));
      console.log(parityLine(a, b));
    }
  } finally {
    server.child.kill('SIGTERM');
  }

  // ---- 2. generator overhead ----------------------------------------------------------------
  console.log('\n## Generator overhead (in-process null SUT)\n');
  const synthetic = new SyntheticQsl(1024);
  const at1k = await ours(
    { scenario: 'Server', targetQps: 1000, minDurationMs: args.quick ? 3000 : 10_000 },
    new NullSut(),
    synthetic,
  );
  const delay = (s: LoadgenSummary) =>
    `p50 ${ms(s.issueDelay.p50Ns)} ms, p99 ${ms(s.issueDelay.p99Ns)} ms, max ${ms(s.issueDelay.maxNs)} ms`;
  console.log(
    `- 1,000 QPS: scheduled → issued delay ${delay(at1k.summary)} over ${at1k.summary.queriesIssued} queries; CPU ${at1k.figures.cpuSeconds.toFixed(2)} s in ${at1k.figures.wallSeconds.toFixed(1)} s (load ${at1k.figures.load})`,
  );
  let best = 0;
  for (const qps of [2000, 5000, 10_000, 20_000, 40_000, 80_000]) {
    const r = await ours(
      { scenario: 'Server', targetQps: qps, minDurationMs: 3000, targetLatencyNs: 10e6 },
      new NullSut(),
      synthetic,
    );
    const kept = r.summary.result === 'VALID';
    console.log(
      `- ${qps} QPS: ${r.summary.result}, issue delay ${delay(r.summary)}, CPU ${((r.figures.cpuSeconds / r.figures.wallSeconds) * 100).toFixed(0)} % of a core (load ${r.figures.load})${kept ? '' : ' ← not sustained'}`,
    );
    if (!kept) break;
    best = qps;
  }
  console.log(`- highest sustained (VALID at a 10 ms p99 bound): ${best} QPS`);

  // ---- 3. the model server, with a trained model ------------------------------------------------
  if (!args.store) {
    console.log(
      '\n(model server capacity skipped: pass --store <knowledge dir> holding a production mnist-classifier)',
    );
    return;
  }
  const serving = await startServer('src/serving/main.ts', [
    '--store',
    args.store,
    '--model',
    'mnist-classifier',
    '--port',
    '0',
    '--no-log',
  ]);
  try {
    console.log('\n## Model server (OIP-v2, one image per query), p99 bound 10 ms\n');
    let bestQps = 0;
    for (const qps of [50, 100, 200, 300, 400, 600, 800]) {
      const sut = new HttpOipSut({ url: serving.url, model: 'mnist-classifier', qsl });
      const r = await ours(
        { scenario: 'Server', targetQps: qps, minDurationMs: 10_000, targetLatencyNs: 10e6 },
        sut,
        qsl,
      );
      await sut.close();
      console.log(`- Server ${qps} QPS: ${r.summary.result}, p99 ${ms(r.figures.p99Ns)} ms (load ${r.figures.load})`);
      if (r.summary.result !== 'VALID') break;
      bestQps = qps;
    }
    const sut = new HttpOipSut({ url: serving.url, model: 'mnist-classifier', qsl, batchSize: 64 });
    const off = await ours({ scenario: 'Offline', expectedQps: 2000, minDurationMs: 10_000 }, sut, qsl);
    await sut.close();
    console.log(
      `- highest VALID Server QPS: ${bestQps}; Offline ${off.summary.samplesPerSecond?.toFixed(0)} samples/s (load ${off.figures.load})`,
    );
  } finally {
    serving.child.kill('SIGTERM');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
