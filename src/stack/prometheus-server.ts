import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binaryPath } from './binaries.js';
import { ManagedProcess, httpOk } from './process.js';

export interface ScrapeJob {
  job: string;
  targets: string[];
  scrapeInterval?: string;
}

export interface PrometheusOptions {
  dataDir: string;
  port: number;
  logDir: string;
  jobs?: ScrapeJob[];
}

export interface RunningPrometheus {
  url: string;
  configFile: string;
  process: ManagedProcess;
  /** Rewrites the scrape configuration and asks Prometheus to reload it. */
  setScrapeJobs(jobs: ScrapeJob[]): Promise<void>;
}

function renderConfig(jobs: ScrapeJob[]): string {
  const lines = ['global:', '  scrape_interval: 1s', '  evaluation_interval: 1s', 'scrape_configs:'];
  for (const j of jobs) {
    lines.push(`  - job_name: ${JSON.stringify(j.job)}`);
    if (j.scrapeInterval) lines.push(`    scrape_interval: ${j.scrapeInterval}`);
    lines.push('    static_configs:', `      - targets: ${JSON.stringify(j.targets)}`);
  }
  if (jobs.length === 0) lines[lines.length - 1] = 'scrape_configs: []';
  return lines.join('\n') + '\n';
}

/** A standalone Prometheus (Debian's package) with static scrape targets on 127.0.0.1. */
export async function startPrometheus(opts: PrometheusOptions): Promise<RunningPrometheus> {
  mkdirSync(opts.dataDir, { recursive: true });
  const configFile = join(opts.dataDir, 'prometheus.yml');
  writeFileSync(configFile, renderConfig(opts.jobs ?? []));
  const url = `http://127.0.0.1:${opts.port}`;
  const proc = await ManagedProcess.start({
    name: 'prometheus',
    command: binaryPath('prometheus'),
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(opts.dataDir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${opts.port}`,
      '--web.enable-lifecycle',
    ],
    logFile: join(opts.logDir, 'prometheus.log'),
    ready: () => httpOk(`${url}/-/ready`),
    readyTimeoutMs: 30_000,
  });
  return {
    url,
    configFile,
    process: proc,
    async setScrapeJobs(jobs) {
      writeFileSync(configFile, renderConfig(jobs));
      const res = await fetch(`${url}/-/reload`, { method: 'POST' });
      if (!res.ok) throw new Error(`prometheus reload failed: ${res.status} ${await res.text()}`);
    },
  };
}
