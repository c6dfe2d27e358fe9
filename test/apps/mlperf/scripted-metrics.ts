/**
 * Scripted metric series for the planners' tests, served the way the real sources serve them and
 * scraped by the harness's real Prometheus every second:
 *
 *   model-server replicas  one HTTP target per replica: scanflow_inference_requests_total and the
 *                          scanflow_inference_request_duration_seconds histogram (src/serving/metrics.ts),
 *                          counters growing at the scripted queries/s, requests at the scripted latency
 *   cadvisor               container_cpu_usage_seconds_total{namespace, pod, container} growing at the
 *                          scripted cores per pod, as the kubelet's /metrics/cadvisor does
 *
 * Counters only grow (the rate changes, never the history), so PromQL's rate() sees what it would
 * see from the real exporters.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

class Replica {
  requests = 0;
  bucketCounts = new Array<number>(BUCKETS.length + 1).fill(0);
  sum = 0;
  private last = Date.now();
  constructor(
    private readonly script: { qps: () => number; latency: () => number },
    readonly model: string,
  ) {}
  advance(): void {
    const now = Date.now();
    const n = (this.script.qps() * (now - this.last)) / 1000;
    this.last = now;
    const latency = this.script.latency();
    let i = BUCKETS.findIndex((le) => latency <= le);
    if (i < 0) i = BUCKETS.length;
    this.requests += n;
    this.bucketCounts[i]! += n;
    this.sum += n * latency;
  }
  render(): string {
    this.advance();
    const m = `model="${this.model}"`;
    const lines = [
      '# TYPE scanflow_inference_requests_total counter',
      `scanflow_inference_requests_total{${m},code="200"} ${this.requests}`,
      '# TYPE scanflow_inference_request_duration_seconds histogram',
    ];
    let cumulative = 0;
    BUCKETS.forEach((le, i) => {
      cumulative += this.bucketCounts[i]!;
      lines.push(`scanflow_inference_request_duration_seconds_bucket{${m},le="${le}"} ${cumulative}`);
    });
    cumulative += this.bucketCounts[BUCKETS.length]!;
    lines.push(
      `scanflow_inference_request_duration_seconds_bucket{${m},le="+Inf"} ${cumulative}`,
      `scanflow_inference_request_duration_seconds_sum{${m}} ${this.sum}`,
      `scanflow_inference_request_duration_seconds_count{${m}} ${cumulative}`,
    );
    return lines.join('\n') + '\n';
  }
}

async function serve(render: () => string): Promise<{ server: Server; target: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(render());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, target: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export class ScriptedMetrics {
  /** Queries/s each replica answers (a function: noise scripts vary it per scrape). */
  qps: () => number = () => 0;
  /** Latency of every request (seconds): p99 from the histogram lands in its bucket. */
  latency: () => number = () => 0.02;
  private readonly cpu = new Map<
    string,
    { namespace: string; pod: string; container: string; cores: () => number; seconds: number }
  >();
  private cpuLast = Date.now();
  private readonly servers: Server[] = [];
  readonly replicaTargets: string[] = [];
  cadvisorTarget = '';

  static async start(replicas: number, model = 'mnist-classifier'): Promise<ScriptedMetrics> {
    const s = new ScriptedMetrics();
    for (let i = 0; i < replicas; i++) {
      const r = new Replica({ qps: () => s.qps(), latency: () => s.latency() }, model);
      const { server, target } = await serve(() => r.render());
      s.servers.push(server);
      s.replicaTargets.push(target);
    }
    const cadvisor = await serve(() => s.renderCpu());
    s.servers.push(cadvisor.server);
    s.cadvisorTarget = cadvisor.target;
    return s;
  }

  /** A pod's CPU: fixed cores, or a function (e.g. following the scripted queries/s, as a server's does). */
  setCpu(namespace: string, pod: string, container: string, cores: number | (() => number)): void {
    this.advanceCpu();
    const key = `${namespace}/${pod}/${container}`;
    const cur = this.cpu.get(key);
    const of = typeof cores === 'number' ? () => cores : cores;
    this.cpu.set(key, { namespace, pod, container, cores: of, seconds: cur?.seconds ?? 0 });
  }

  private advanceCpu(): void {
    const now = Date.now();
    for (const c of this.cpu.values()) c.seconds += (c.cores() * (now - this.cpuLast)) / 1000;
    this.cpuLast = now;
  }

  private renderCpu(): string {
    this.advanceCpu();
    const lines = ['# TYPE container_cpu_usage_seconds_total counter'];
    for (const c of this.cpu.values()) {
      const l = `namespace="${c.namespace}",pod="${c.pod}"`;
      lines.push(`container_cpu_usage_seconds_total{${l},container="${c.container}"} ${c.seconds}`);
      // The pod-level cgroup (container="") and the pause container: the sensor must not count them.
      lines.push(`container_cpu_usage_seconds_total{${l},container=""} ${c.seconds * 1.05}`);
      lines.push(`container_cpu_usage_seconds_total{${l},container="POD"} 0.01`);
    }
    return lines.join('\n') + '\n';
  }

  async close(): Promise<void> {
    for (const s of this.servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }
}

/**
 * Points the harness's Prometheus at `jobs` (scraped every second) and returns how to undo it.
 * Integration suites run one at a time (jest maxWorkers 1), so the shared file is ours meanwhile.
 */
export async function scrape(
  prometheusUrl: string,
  configFile: string,
  jobs: Array<{ job: string; targets: string[] }>,
): Promise<() => Promise<void>> {
  const original = readFileSync(configFile, 'utf8');
  const reload = async () => {
    const res = await fetch(`${prometheusUrl}/-/reload`, { method: 'POST' });
    if (!res.ok) throw new Error(`prometheus reload failed: ${res.status} ${await res.text()}`);
  };
  const lines = ['global:', '  scrape_interval: 1s', '  evaluation_interval: 1s', 'scrape_configs:'];
  for (const j of jobs)
    lines.push(
      `  - job_name: ${JSON.stringify(j.job)}`,
      '    scrape_interval: 1s',
      '    static_configs:',
      `      - targets: ${JSON.stringify(j.targets)}`,
    );
  writeFileSync(configFile, lines.join('\n') + '\n');
  await reload();
  return async () => {
    writeFileSync(configFile, original);
    await reload();
  };
}
