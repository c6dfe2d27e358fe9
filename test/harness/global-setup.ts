/**
 * Starts the real components the integration tests talk to, once per `jest` run, on free
 * loopback ports: the Temporal dev server (via @temporalio/testing with the provisioned
 * binary), versitygw (S3), Prometheus and a Kubernetes control plane (etcd, kube-apiserver,
 * controller-manager, scheduler, KWOK). Addresses reach the tests as SCANFLOW_TEST_* variables.
 *
 * SCANFLOW_TEST_COMPONENTS=temporal,s3 limits what is started (default: all) when a developer
 * runs a subset of the tests.
 *
 * `nodes` (real kubelet nodes running the project's image, see nodes.ts) is started by default
 * only when the run includes a suite of test/nodes (a whole run, or paths that match one of them),
 * so a run of other suites does not pay for the image and the nodes; it shares the `kubernetes`
 * component's control plane. SCANFLOW_TEST_REAL_NODES sets how many (default 2).
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { binaryPath } from '../../src/stack/binaries.js';
import { freePort } from '../../src/stack/ports.js';
import { startS3Server } from '../../src/stack/s3-server.js';
import { startPrometheus } from '../../src/stack/prometheus-server.js';
import { scanflowSearchAttributes } from '../../src/agents/conventions.js';
import { fileURLToPath } from 'node:url';
import { harnessState, type Component } from './state.js';

const all: Component[] = ['temporal', 's3', 'prometheus', 'kubernetes', 'nodes'];
const nodeSuites = fileURLToPath(new URL('../nodes/', import.meta.url));

/** True when the run selects a suite of test/nodes (no path pattern = every suite). */
function runIncludesNodeSuites(globalConfig?: { testPathPatterns?: unknown }): boolean {
  const raw = globalConfig?.testPathPatterns as { patterns?: string[] } | string[] | undefined;
  const patterns = Array.isArray(raw) ? raw : (raw?.patterns ?? []);
  if (patterns.length === 0) return true;
  let files: string[];
  try {
    files = readdirSync(nodeSuites).filter((f) => f.endsWith('.test.ts'));
  } catch {
    return false;
  }
  return files.some((f) =>
    patterns.some((p) => {
      try {
        return new RegExp(p, 'i').test(join(nodeSuites, f));
      } catch {
        return false;
      }
    }),
  );
}

function wanted(globalConfig?: { testPathPatterns?: unknown }): Set<Component> {
  const raw = process.env.SCANFLOW_TEST_COMPONENTS;
  if (!raw) return new Set(all.filter((c) => c !== 'nodes' || runIncludesNodeSuites(globalConfig)));
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

export default async function globalSetup(globalConfig?: { testPathPatterns?: unknown }): Promise<void> {
  const components = wanted(globalConfig);
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
  if (components.has('kubernetes') && !components.has('nodes')) {
    jobs.push(
      (async () => {
        const { startControlPlane } = await import('./kubernetes.js');
        const cluster = await startControlPlane({ workDir: join(workDir, 'kubernetes'), logDir });
        state.stops.push(() => cluster.stop());
        process.env.SCANFLOW_TEST_KUBECONFIG = cluster.kubeconfigPath;
      })(),
    );
  }
  if (components.has('nodes')) {
    jobs.push(
      (async () => {
        const { startControlPlane } = await import('./kubernetes.js');
        const { buildImage, startNodeControl } = await import('./nodes.js');
        const image = await buildImage();
        const t = Date.now();
        const cluster = await startControlPlane({
          workDir: join(workDir, 'kubernetes'),
          logDir,
          realNodes: {
            count: Number(process.env.SCANFLOW_TEST_REAL_NODES ?? 2),
            images: [image.archive],
            taint: true,
          },
          log: (line) => process.stderr.write(`[harness] nodes: ${line}\n`),
        });
        state.stops.push(() => cluster.stop());
        const control = await startNodeControl(cluster);
        // Closed before the cluster stops (stops run together; closing is instant).
        state.stops.push(() => control.close());
        const clusterSeconds = (Date.now() - t) / 1000;
        process.env.SCANFLOW_TEST_KUBECONFIG = cluster.kubeconfigPath;
        process.env.SCANFLOW_TEST_NODES = JSON.stringify({
          image,
          nodes: cluster.realNodes?.nodes ?? [],
          control: control.url,
          timings: {
            imageSeconds: image.seconds,
            clusterSeconds,
            nodeReadySeconds: cluster.realNodes?.readySeconds ?? {},
          },
        });
        process.stderr.write(
          `[harness] nodes: image ${image.ref} ${image.cached ? 'cached' : 'built'} in ${image.seconds} s (${(image.bytes / 1024 ** 2).toFixed(0)} MiB); cluster with ${cluster.realNodes?.nodes.length ?? 0} real nodes in ${clusterSeconds.toFixed(1)} s\n`,
        );
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
