/**
 * Latency of every Table IV primitive against the local control plane (etcd, kube-apiserver,
 * controller-manager, scheduler, KWOK), p50/p99 over N calls (default 100), and of a full online
 * deploy until all pods are Ready. Mutating primitives alternate between two values so every
 * call is a real change.
 *
 *   npx tsx bench/kubernetes.ts            (BENCH_N=20 for a quick run)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { startControlPlane } from '../src/platform/kubernetes/control-plane/start.js';
import { KubernetesPlatform } from '../src/platform/kubernetes/adapter.js';
import { loadKubeConfig } from '../src/platform/kubernetes/client.js';
import type { BatchWorkflowSpec, OnlineWorkflowSpec } from '../src/platform/types.js';

const N = Number(process.env.BENCH_N ?? 100);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

const rows: Array<[string, number, number, number, number]> = [];
async function measure(name: string, fn: (i: number) => Promise<unknown>, n = N): Promise<void> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const own = await fn(i);
    // A call that must set something up first returns the time of the primitive alone.
    ms.push(typeof own === 'number' ? own : performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  rows.push([name, n, pct(ms, 0.5), pct(ms, 0.99), ms[ms.length - 1]!]);
  console.log(
    `${name.padEnd(34)} n=${String(n).padStart(3)}  p50 ${pct(ms, 0.5).toFixed(1).padStart(7)} ms  p99 ${pct(ms, 0.99).toFixed(1).padStart(7)} ms  max ${ms[ms.length - 1]!.toFixed(1).padStart(7)} ms`,
  );
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'scanflow-bench-k8s-'));
  const t0 = performance.now();
  const cluster = await startControlPlane({ workDir: join(dir, 'state'), logDir: join(dir, 'logs') });
  console.log(`control plane started in ${((performance.now() - t0) / 1000).toFixed(1)} s; N=${N}`);
  try {
    const namespace = 'bench';
    await loadKubeConfig(cluster.kubeconfigPath)
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: namespace } } });
    const p = new KubernetesPlatform({ kubeconfigPath: cluster.kubeconfigPath, namespace });
    await until(async () => {
      try {
        await p.readyReplicas({ app: 'x', workflow: 'x' });
        return true;
      } catch {
        return false;
      }
    });
    const ref = { app: 'bench', workflow: 'serving' };
    const online = (tag: number): OnlineWorkflowSpec => ({
      ...ref,
      services: [
        {
          name: 'model',
          image: `model:${tag}`,
          port: 8080,
          replicas: 2,
          autoscaling: {
            kind: 'keda',
            minReplicas: 1,
            maxReplicas: 5,
            prometheus: { serverAddress: 'http://p:9090', query: 'q', threshold: 10 },
          },
        },
      ],
      backup: { name: 'backup', image: 'model:1', port: 8080, replicas: 1 },
    });
    // Wait for the default ServiceAccount so pods can be created.
    await new Promise((r) => setTimeout(r, 1000));

    // Full online deploy until every pod is Ready (fresh workflow each time, then deleted).
    await measure(
      'deploy until all pods Ready',
      async (i) => {
        const r = { app: 'bench', workflow: `full-${i}` };
        await p.deployWorkflow({
          ...r,
          services: [{ name: 'model', image: 'model:1', port: 8080, replicas: 3 }],
          backup: { name: 'backup', image: 'model:1', port: 8080, replicas: 1 },
        });
        await until(async () => (await p.readyReplicas(r)).reduce((a, s) => a + s.ready, 0) === 4);
        await p.deleteWorkflow(r);
      },
      Math.min(N, 30),
    );

    await measure('deployWorkflow (apply, changed)', (i) => p.deployWorkflow(online(i % 2)));
    await measure('deployWorkflow (apply, unchanged)', () => p.deployWorkflow(online(1)));
    await measure('upgradeWorkflow (online)', (i) =>
      p.upgradeOnlineWorkflow(ref, 'model', { image: `model:${2 + (i % 2)}`, env: { MODEL_VERSION: String(i) } }),
    );
    await measure('updateWorkflowAffinity (online)', (i) =>
      p.updateOnlineWorkflowAffinity(ref, 'model', {
        antiAffinity: [{ matchLabels: { app: 'batch', n: String(i % 2) }, mode: 'preferred' }],
      }),
    );
    await measure('updateWorkflowResource (online)', (i) =>
      p.updateOnlineWorkflowResource(ref, 'model', { requests: { cpu: `${100 + (i % 2) * 100}m` } }),
    );
    await measure('updateWorkflowReplica (KEDA)', (i) =>
      p.updateWorkflowReplica(ref, 'model', { threshold: 10 + (i % 2) }),
    );
    await measure('updateWorkflowTraffic (weights)', (i) =>
      p.updateWorkflowTraffic(ref, { weights: { model: 90 - (i % 2) * 10, backup: 10 + (i % 2) * 10 } }),
    );
    await measure('updateWorkflowTraffic (active)', (i) =>
      p.updateWorkflowTraffic(ref, { active: i % 2 ? 'backup' : 'model' }),
    );
    await measure('duplicateWorkflowInstance', (i) => p.duplicateWorkflowInstance(ref, 'model', 1 + (i % 2)));
    await measure('applyWorkflowInstance', (i) =>
      p.applyWorkflowInstance(ref, { name: 'canary', image: `model:${i % 2}`, port: 8080, replicas: 1 }),
    );
    await measure('deleteWorkflowInstance', async (i) => {
      await p.applyWorkflowInstance(ref, { name: `extra${i}`, image: 'model:1', port: 8080, replicas: 0 });
      const t = performance.now();
      await p.deleteWorkflowInstance(ref, `extra${i}`);
      return performance.now() - t;
    });
    await measure('readyReplicas', () => p.readyReplicas(ref));
    await measure('podPlacement', () => p.podPlacement(ref));

    const batch: BatchWorkflowSpec = {
      app: 'bench',
      workflow: 'train',
      executors: [
        { name: 'a', image: 'train:1' },
        { name: 'b', image: 'train:1', dependsOn: ['a'] },
      ],
    };
    await p.applyBatchWorkflow(batch);
    await measure('upgradeWorkflow (batch)', (i) => p.upgradeBatchWorkflow(batch, { image: `train:${i % 2}` }));
    await measure('updateWorkflowAffinity (batch)', (i) =>
      p.updateBatchWorkflowAffinity(batch, {
        nodeSelector: { 'scanflow.io/pool': 'general' },
        antiAffinity: [{ matchLabels: { n: String(i % 2) }, mode: 'preferred' }],
      }),
    );
    await measure('updateWorkflowResource (batch)', (i) =>
      p.updateBatchWorkflowResource(batch, { requests: { cpu: `${100 + (i % 2)}m` } }),
    );
    await measure('upgradeExecutor', (i) => p.upgradeExecutor(batch, 'b', { image: `train:${i % 2}` }));
    await measure('updateExecutorAffinity', (i) =>
      p.updateExecutorAffinity(batch, 'b', {
        antiAffinity: [{ matchLabels: { n: String(i % 2) }, mode: 'preferred' }],
      }),
    );
    await measure('updateExecutorResource', (i) =>
      p.updateExecutorResource(batch, 'b', { requests: { cpu: `${100 + (i % 2)}m` } }),
    );
    await measure('runWorkflow (2-step DAG, to end)', (i) => p.runWorkflow(batch, `w${i}`, { pollMs: 100 }));
    await measure('jobStatus', (i) => p.jobStatus(batch, `w${i}`));
    await measure('runExecutor (to end)', (i) => p.runExecutor(batch, 'a', `e${i}`, { pollMs: 100 }));
    await measure('stopExecutor', (i) => p.stopExecutor(batch, 'a', `e${i}`));
    await measure('stopWorkflow (one run)', (i) => p.stopWorkflow(batch, `w${i}`));
    await measure('deleteWorkflow (+ redeploy untimed)', async (i) => {
      const r = { app: 'bench', workflow: `del-${i}` };
      await p.deployWorkflow({ ...r, services: [{ name: 'model', image: 'model:1', port: 8080, replicas: 0 }] });
      const t = performance.now();
      await p.deleteWorkflow(r);
      return performance.now() - t;
    });
    console.log('\n| primitive | n | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|');
    for (const [name, n, p50, p99, max] of rows)
      console.log(`| ${name} | ${n} | ${p50.toFixed(1)} | ${p99.toFixed(1)} | ${max.toFixed(1)} |`);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
