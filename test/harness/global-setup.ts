/**
 * Starts the real components the integration tests talk to, once per `jest` run, on free
 * loopback ports: the Temporal dev server (via @temporalio/testing with the provisioned
 * binary), versitygw (S3), Prometheus and a Kubernetes control plane (etcd, kube-apiserver,
 * controller-manager, scheduler, KWOK). Addresses reach the tests as SCANFLOW_TEST_* variables.
 *
 * SCANFLOW_TEST_COMPONENTS=temporal,s3 limits what is started (default: all) when a developer
 * runs a subset of the tests.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { binaryPath } from '../../src/stack/binaries.js';
import { freePort } from '../../src/stack/ports.js';
import { startS3Server } from '../../src/stack/s3-server.js';
import { startPrometheus } from '../../src/stack/prometheus-server.js';
import { scanflowSearchAttributes } from '../../src/agents/conventions.js';
import { harnessState, type Component } from './state.js';

const all: Component[] = ['temporal', 's3', 'prometheus', 'kubernetes'];

function wanted(): Set<Component> {
  const raw = process.env.SCANFLOW_TEST_COMPONENTS;
  if (!raw) return new Set(all);
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!all.includes(n as Component))
      throw new Error(`SCANFLOW_TEST_COMPONENTS: unknown component '${n}' (known: ${all.join(', ')})`);
  }
  return new Set(names as Component[]);
}

export default async function globalSetup(): Promise<void> {
  const components = wanted();
  const workDir = mkdtempSync(join(tmpdir(), 'scanflow-test-'));
  const logDir = join(workDir, 'logs');
  const state = harnessState();
  state.workDir = workDir;
  process.env.SCANFLOW_TEST_DIR = workDir;
  process.env.SCANFLOW_TEST_COMPONENTS = [...components].join(',');
  const started = Date.now();

  const jobs: Promise<void>[] = [];
  if (components.has('temporal')) {
    jobs.push(
      (async () => {
        const env = await TestWorkflowEnvironment.createLocal({
          server: {
            executable: { type: 'existing-path', path: binaryPath('temporal') },
            ip: '127.0.0.1',
            searchAttributes: [...scanflowSearchAttributes],
            // Suggest continue-as-new early so tests exercise it without thousands of events.
            extraArgs: [
              '--dynamic-config-value',
              'limit.historyCount.suggestContinueAsNew=200',
              '--log-level',
              'error',
            ],
          },
        });
        state.temporal = env;
        process.env.SCANFLOW_TEST_TEMPORAL_ADDRESS = env.address;
        process.env.SCANFLOW_TEST_NAMESPACE = env.namespace ?? 'default';
      })(),
    );
  }
  if (components.has('s3')) {
    jobs.push(
      (async () => {
        const s3 = await startS3Server({
          dataDir: join(workDir, 's3'),
          port: await freePort(),
          accessKey: 'scanflow',
          secretKey: 'scanflow-secret',
          logDir,
        });
        state.processes.push(s3.process);
        process.env.SCANFLOW_TEST_S3_ENDPOINT = s3.endpoint;
        process.env.SCANFLOW_TEST_S3_ACCESS_KEY = s3.accessKey;
        process.env.SCANFLOW_TEST_S3_SECRET_KEY = s3.secretKey;
      })(),
    );
  }
  if (components.has('prometheus')) {
    jobs.push(
      (async () => {
        const prom = await startPrometheus({ dataDir: join(workDir, 'prometheus'), port: await freePort(), logDir });
        state.processes.push(prom.process);
        process.env.SCANFLOW_TEST_PROMETHEUS_URL = prom.url;
        process.env.SCANFLOW_TEST_PROMETHEUS_CONFIG = prom.configFile;
      })(),
    );
  }
  if (components.has('kubernetes')) {
    jobs.push(
      (async () => {
        const { startControlPlane } = await import('./kubernetes.js');
        const cluster = await startControlPlane({ workDir: join(workDir, 'kubernetes'), logDir });
        state.stops.push(() => cluster.stop());
        process.env.SCANFLOW_TEST_KUBECONFIG = cluster.kubeconfigPath;
      })(),
    );
  }
  const results = await Promise.allSettled(jobs);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    const { default: teardown } = await import('./global-teardown.js');
    await teardown();
    throw new Error(
      `test harness: could not start ${failed.length} component(s):\n${failed.map((f) => String(f.reason?.stack ?? f.reason)).join('\n')}`,
    );
  }
  process.stderr.write(
    `\n[harness] started ${[...components].join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s (logs: ${logDir})\n`,
  );
}
