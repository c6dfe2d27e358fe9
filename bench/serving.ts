/**
 * Model-server throughput and latency, with and without dynamic batching, side by side.
 *
 *   npx tsx bench/serving.ts [--seconds 3] [--rounds 3] [--concurrency 1,4,16,64] [--images-per-request 1]
 *
 * The server runs as its own process (src/serving/main.ts, as on the local platform) serving the
 * case study's CNN (src/ml/classifier.ts; weights untrained, which does not change the cost) from
 * a local-directory registry; the client is the traffic client in closed loop (as fast as the
 * concurrency allows). Prints, per concurrency: requests/s, images/s, latency p50/p99 (ms) and
 * the mean batch the server formed (from its /metrics), as medians over interleaved rounds,
 * then the ratios of each batching setting to no batching.
 */
import { mkdtempSync, rmSync } from 'node:fs';
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
import { loopingSource } from '../src/traffic/sources.js';
import { runTraffic, type TrafficReport } from '../src/traffic/traffic-client.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** Batching off; next event-loop turn (0 ms); a fixed 2 ms queue delay; up to 2 ms only while requests are arriving (the default). */
const CONFIGS = [
  { name: 'off', args: ['--no-batching'] },
  { name: 'on, 0 ms', args: ['--max-batch', '128', '--max-wait-ms', '0'] },
  { name: 'on, fixed 2 ms', args: ['--max-batch', '128', '--max-wait-ms', '2', '--batch-wait', 'fixed'] },
  {
    name: 'on, arrivals 2 ms (default)',
    args: ['--max-batch', '128', '--max-wait-ms', '2', '--batch-wait', 'arrivals'],
  },
] as const;
type Config = (typeof CONFIGS)[number];

interface Row {
  config: Config;
  concurrency: number;
  report: TrafficReport;
  meanBatch: number;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
}

async function startServer(
  storeDir: string,
  logDir: string,
  config: Config,
): Promise<{ url: string; proc: ManagedProcess }> {
  const port = await freePort();
  const args = [
    '--import',
    'tsx',
    join(repoRoot, 'src/serving/main.ts'),
    '--store',
    storeDir,
    '--model',
    'mnist',
    '--port',
    String(port),
    '--no-log',
    ...config.args,
  ];
  const url = `http://127.0.0.1:${port}`;
  const proc = await ManagedProcess.start({
    name: `serving-${port}`,
    command: process.execPath,
    args,
    cwd: repoRoot,
    logFile: join(logDir, `serving-${port}.log`),
    ready: () => httpOk(`${url}/v2/health/ready`),
  });
  return { url, proc };
}

async function run(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '1,4,16,64' },
      'images-per-request': { type: 'string', default: '1' },
    },
  });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const concurrencies = values.concurrency.split(',').map(Number);
  const perRequest = Number(values['images-per-request']);
  if (
    !(seconds > 0) ||
    !(Number.isInteger(rounds) && rounds >= 1) ||
    concurrencies.some((c) => !Number.isInteger(c) || c < 1) ||
    !(Number.isInteger(perRequest) && perRequest >= 1)
  ) {
    throw new Error(
      '--seconds must be > 0, --rounds an integer >= 1, --concurrency a comma list of integers >= 1, --images-per-request an integer >= 1',
    );
  }
  const work = mkdtempSync(join(tmpdir(), 'scanflow-bench-serving-'));
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
  const images = loopingSource(loadMnist('test', 2000));

  // All servers run at once (an idle one costs nothing) and the points are interleaved round by
  // round, so a change in the machine's load (it is shared) hits every setting alike; the tables
  // show the median over rounds.
  const servers: Array<{ config: Config; url: string; proc: ManagedProcess }> = [];
  const rows: Row[] = [];
  try {
    for (const config of CONFIGS)
      servers.push({ config, ...(await startServer(storeDir, join(work, 'logs'), config)) });
    for (const { url } of servers)
      await runTraffic({
        url,
        model: 'mnist',
        source: images,
        concurrency: 4,
        maxRequests: 200,
        imagesPerRequest: perRequest,
      });
    for (let round = 1; round <= rounds; round += 1) {
      for (const concurrency of concurrencies) {
        for (const { config, url } of servers) {
          const [sum0, count0] = [
            await metric(url, 'scanflow_inference_batch_size_sum'),
            await metric(url, 'scanflow_inference_batch_size_count'),
          ];
          const report = await runTraffic({
            url,
            model: 'mnist',
            source: images,
            concurrency,
            durationMs: seconds * 1000,
            imagesPerRequest: perRequest,
          });
          const [sum1, count1] = [
            await metric(url, 'scanflow_inference_batch_size_sum'),
            await metric(url, 'scanflow_inference_batch_size_count'),
          ];
          rows.push({ config, concurrency, report, meanBatch: (sum1 - sum0) / (count1 - count0) });
          if (report.failed > 0)
            console.error(`warning: ${report.failed} failed requests: ${JSON.stringify(report.errors)}`);
        }
      }
      console.error(`round ${round}/${rounds} done`);
    }
  } finally {
    await Promise.all(servers.map((s) => s.proc.stop()));
    rmSync(work, { recursive: true, force: true });
  }

  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const point = (config: Config, c: number) => {
    const rs = rows.filter((r) => r.config === config && r.concurrency === c);
    return {
      rps: median(rs.map((r) => r.report.requestsPerSecond)),
      ips: median(rs.map((r) => r.report.imagesPerSecond)),
      p50: median(rs.map((r) => r.report.latencyMs.p50)),
      p99: median(rs.map((r) => r.report.latencyMs.p99)),
      batch: median(rs.map((r) => r.meanBatch)),
    };
  };
  console.log(
    `\nModel server, CNN, ${perRequest} image(s)/request, closed loop; median of ${rounds} interleaved rounds of ${seconds} s per point; ${new Date().toISOString()}`,
  );
  console.log('| concurrency | batching | req/s | img/s | p50 ms | p99 ms | mean batch |');
  console.log('|---:|---|---:|---:|---:|---:|---:|');
  for (const config of CONFIGS) {
    for (const c of concurrencies) {
      const p = point(config, c);
      console.log(
        `| ${c} | ${config.name} | ${p.rps.toFixed(0)} | ${p.ips.toFixed(0)} | ${p.p50.toFixed(2)} | ${p.p99.toFixed(2)} | ${p.batch.toFixed(1)} |`,
      );
    }
  }
  console.log('\n| concurrency | batching | throughput / off | p50 / off | p99 / off |');
  console.log('|---:|---|---:|---:|---:|');
  for (const c of concurrencies) {
    const off = point(CONFIGS[0], c);
    for (const config of CONFIGS.slice(1)) {
      const on = point(config, c);
      console.log(
        `| ${c} | ${config.name} | ${(on.rps / off.rps).toFixed(2)} | ${(on.p50 / off.p50).toFixed(2)} | ${(on.p99 / off.p99).toFixed(2)} |`,
      );
    }
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
