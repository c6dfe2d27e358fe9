/**
 * Where a model-server request's time goes (issue 13): the server runs under `node --cpu-prof`,
 * a closed-loop client drives it at each concurrency and protocol (one server process per point,
 * so each profile holds one load), and the profile's samples taken while the load ran are summed
 * by what the code does: HTTP (node:http, streams, sockets, the routes), parse (JSON/binary
 * request to checked pixels), tensor (tf.tensor4d), model (the tfjs call and reading its output),
 * batcher, encode (the response body), log (prediction records and their writer), metrics
 * (prom-client), gRPC (grpc-js and its protobuf codec), GC, and other (V8/native work no JS frame
 * claims). A frame's category is the deepest frame of its stack with a rule, so JSON.parse counts
 * as parse because protocol.ts called it.
 *
 *   npx tsx bench/serving-profile.ts [--seconds 5] [--points json:1,json:64,binary:1,grpc:64] [--server-args "..."]
 *                                    [--checkout <dir>]   (another checkout's server, e.g. a git worktree of main before)
 *
 * Prints, per point: requests/s and p50/p99 seen by the client, the load average, and the server's
 * CPU per request by category (µs) with its share of the server's busy time.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalDirectoryStore } from '../src/knowledge/local-store.js';
import { ModelRegistry } from '../src/knowledge/model-registry.js';
import { buildClassifier } from '../src/ml/classifier.js';
import { loadMnist } from '../src/ml/mnist.js';
import { ManagedProcess, httpOk } from '../src/stack/process.js';
import { freePort } from '../src/stack/ports.js';
import { SAMPLES, closedLoop, fmtCpu, load, senders, type Protocol } from './serving-clients.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export const CATEGORIES = [
  'http',
  'grpc',
  'parse',
  'tensor',
  'model',
  'batcher',
  'encode',
  'log',
  'metrics',
  'gc',
  'other',
] as const;
type Category = (typeof CATEGORIES)[number] | 'idle' | 'startup';

/** The category a frame claims, given its caller's; undefined: it inherits the caller's. */
function rule(frame: ProfileNode['callFrame'], parent: Category): Category | undefined {
  const { url, functionName: fn } = frame;
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)' || fn === '(root)') return 'other';
  if (url.includes('/tsx/') || url.startsWith('node:internal/modules')) return 'startup';
  // Building the input tensor (tf.tensor4d and what it calls) before the model's own frames.
  if (/^tensor\dd$/.test(fn) || fn === 'makeTensor') return 'tensor';
  if (url.includes('@tensorflow/') || url.includes('servable-model.ts') || url.includes('forward-pass.ts'))
    return parent === 'tensor' ? 'tensor' : 'model';
  if (url.includes('prom-client') || url.endsWith('/serving/metrics.ts')) return 'metrics';
  if (/prediction-(queue|records|log)\.ts$/.test(url) || url.includes('/src/knowledge/')) return 'log';
  if (url.includes('@grpc/') || url.includes('protobufjs') || url.endsWith('grpc-server.ts')) return 'grpc';
  if (url.endsWith('/protocol.ts') || url.endsWith('/fast-json.ts'))
    return /^encode|^join$|buildInferResponse/.test(fn) ? 'encode' : 'parse';
  if (url.endsWith('/batcher.ts') || url.endsWith('/batch-runner.ts')) return 'batcher';
  if (
    /^node:(_http|net|stream|internal\/(streams|http|stream_base|net))/.test(url) ||
    /\/(http-io|routes|infer-route|server|fastify-server)\.ts$/.test(url) ||
    url.includes('/fastify/') ||
    url.includes('find-my-way') ||
    url.includes('light-my-request')
  )
    return 'http';
  return undefined;
}

/** Microseconds of samples per category, counting only samples taken between fromUs and toUs. */
export function breakdown(profile: CpuProfile, fromUs: number, toUs: number): Record<Category, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const category = new Map<number, Category>();
  const root = profile.nodes[0]!;
  const stack: Array<[ProfileNode, Category]> = [[root, 'other']];
  while (stack.length > 0) {
    const [node, parent] = stack.pop()!;
    const own = rule(node.callFrame, parent) ?? parent;
    category.set(node.id, own);
    for (const c of node.children ?? []) stack.push([byId.get(c)!, own]);
  }
  const totals = Object.fromEntries([...CATEGORIES, 'idle', 'startup'].map((c) => [c, 0])) as Record<Category, number>;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i += 1) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (t < fromUs || t > toUs) continue;
    // A sample stands for the interval up to the next one.
    const span = profile.timeDeltas[i + 1] ?? delta;
    totals[category.get(profile.samples[i]!) ?? 'other'] += span;
  }
  return totals;
}

/** CLOCK_MONOTONIC in µs: the clock V8's profiler stamps samples with, shared by every process. */
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

async function run(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      points: { type: 'string', default: 'json:1,json:64,binary:1,binary:64,grpc:1,grpc:64' },
      'server-args': { type: 'string', default: '' },
      checkout: { type: 'string', default: repoRoot },
    },
  });
  const seconds = Number(values.seconds);
  const points = values.points.split(',').map((p) => {
    const [protocol, c] = p.split(':');
    if (!['json', 'binary', 'grpc'].includes(protocol!) || !(Number(c) >= 1))
      throw new Error(`--points: each point is <json|binary|grpc>:<concurrency>, got ${JSON.stringify(p)}`);
    return { protocol: protocol as Protocol, concurrency: Number(c) };
  });
  const serverArgs = values['server-args'].split(/\s+/).filter(Boolean);
  const work = mkdtempSync(join(tmpdir(), 'scanflow-bench-profile-'));
  const storeDir = join(work, 'store');
  const registry = new ModelRegistry(new LocalDirectoryStore(storeDir), 'mnist');
  const model = buildClassifier(1);
  const { version } = await registry.register({
    model,
    metrics: { accuracy: 0 },
    lineage: { datasets: [], notes: 'bench/serving-profile.ts: untrained CNN, same cost as the trained one' },
  });
  await registry.promote(version);
  model.dispose();
  const mnist = loadMnist('test', SAMPLES);
  const images = Array.from({ length: SAMPLES }, (_, i) => mnist.pixels.subarray(i * 784, (i + 1) * 784));

  const rows: string[] = [];
  try {
    for (const { protocol, concurrency } of points) {
      const profDir = join(work, `prof-${protocol}-${concurrency}`);
      const port = await freePort();
      const grpcPort = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const proc = await ManagedProcess.start({
        name: `serving-profile-${port}`,
        command: process.execPath,
        args: [
          '--cpu-prof',
          '--cpu-prof-dir',
          profDir,
          '--import',
          'tsx',
          join(values.checkout, 'src/serving/main.ts'),
          ...['--store', storeDir, '--model', 'mnist', '--port', String(port), '--grpc-port', String(grpcPort)],
          ...serverArgs,
        ],
        cwd: values.checkout,
        logFile: join(work, `serving-${port}.log`),
        ready: () => httpOk(`${url}/v2/health/ready`),
      });
      const send = senders({ url, grpcPort }, images)[protocol];
      await closedLoop(send, concurrency, 1, proc.pid); // warm-up, not in the window
      const from = nowUs();
      const point = await closedLoop(send, concurrency, seconds, proc.pid);
      const to = nowUs();
      await proc.stop();
      const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error(`the server wrote no .cpuprofile in ${profDir}`);
      const totals = breakdown(JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile, from, to);
      const requests = point.rps * ((to - from) / 1e6);
      const busy = CATEGORIES.reduce((n, c) => n + totals[c], 0);
      const cells = CATEGORIES.map(
        (c) => `${(totals[c] / requests).toFixed(0)} (${((100 * totals[c]) / (busy || 1)).toFixed(0)}%)`,
      );
      rows.push(
        `| ${protocol} | ${concurrency} | ${point.rps.toFixed(0)} | ${point.p50.toFixed(2)} | ${point.p99.toFixed(2)} | ${(busy / requests).toFixed(0)} | ${cells.join(' | ')} | ${point.load} |`,
      );
      console.error(
        `${protocol} c=${concurrency}: ${point.rps.toFixed(0)} req/s, p99 ${point.p99.toFixed(2)} ms, server ${(busy / requests).toFixed(0)} µs/request (load ${point.load}; ${fmtCpu(point.cpu)}; idle in window ${(totals.idle / 1000).toFixed(0)} ms)`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(
    `\nServer CPU per request by category, µs (share of the server's busy time); server ${values.checkout}, args: ${serverArgs.join(' ') || '(defaults)'}; load now ${load()}`,
  );
  console.log(
    `| protocol | concurrency | req/s | p50 ms | p99 ms | busy µs/req | ${CATEGORIES.join(' | ')} | load avg |`,
  );
  console.log(`|---|---:|---:|---:|---:|---:|${CATEGORIES.map(() => '---:').join('|')}|---:|`);
  for (const r of rows) console.log(r);
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
