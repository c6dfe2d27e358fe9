/**
 * The local platform with real model-server processes (tsx + native tfjs) reading a real S3
 * registry: deploy behind the router, in-place and rolling upgrades under load with zero failed
 * requests, scaling, weighted traffic, fail-over to the backup, bad specs, delete.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalPlatform } from '../../src/platform/local/local-platform.js';
import { localModelServerSupport } from '../../src/serving/local-model-server.js';
import { modelServerService } from '../../src/serving/service-spec.js';
import { createLocalPlatformActivities } from '../../src/activities/platform/local.js';
import type { OnlineWorkflowSpec, ServiceSpec } from '../../src/platform/types.js';
import { listPredictionBatches, readPredictionBatch } from '../../src/knowledge/prediction-log.js';
import { loopingSource } from '../../src/traffic/sources.js';
import { runTraffic, type TrafficReport } from '../../src/traffic/traffic-client.js';
import { images, s3Store, seededRegistry, uniqueS3StoreConfig } from './fixtures.js';

const ref = { app: 'mnist', workflow: 'serving' };

describe('local platform running model-server processes', () => {
  const storeConfig = uniqueS3StoreConfig('local-platform');
  const store = s3Store(storeConfig);
  const platform = new LocalPlatform({
    ...localModelServerSupport(storeConfig),
    workDir: mkdtempSync(join(tmpdir(), 'scanflow-local-platform-')),
    healthIntervalMs: 200,
  });
  const activities = createLocalPlatformActivities(platform);

  // The model server as the demo deploys it (env-configured; the platform sets host and port).
  const modelServer = (name: string, replicas: number, version: string): ServiceSpec =>
    modelServerService({
      name,
      store: storeConfig,
      model: 'mnist',
      replicas,
      version: Number(version),
      logFlushMs: 200,
      maxWaitMs: 1,
    });
  const spec: OnlineWorkflowSpec = {
    ...ref,
    services: [modelServer('main', 2, '1')],
    backup: modelServer('backup', 1, '1'),
  };

  const sample = {
    count: 8,
    height: 28,
    width: 28,
    pixels: Float32Array.from(images(8, 3)),
    ids: Array.from({ length: 8 }, (_, i) => `lp-${i}`),
  };
  const load = (signal: AbortSignal, seen: Array<{ ok: boolean; version?: string }>): Promise<TrafficReport> =>
    runTraffic({
      url: platform.endpoint(ref),
      model: 'mnist',
      source: loopingSource(sample),
      imagesPerRequest: 2,
      concurrency: 4,
      signal,
      onResult: (r) => seen.push(r),
    });
  const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise((r) => setTimeout(r, 20));
  };

  beforeAll(async () => {
    await seededRegistry(store, 'mnist', 3);
    await platform.deployWorkflow(spec);
  });
  afterAll(async () => {
    await platform.close();
  });

  it('deploys every replica behind the router, balanced round-robin, all observed ready', async () => {
    expect(await activities.readyReplicas(ref)).toEqual([
      { service: 'main', desired: 2, ready: 2, available: 2, updated: 2 },
      { service: 'backup', desired: 1, ready: 1, available: 1, updated: 1 },
    ]);
    const replicas = new Set<string>();
    for (let i = 0; i < 4; i += 1) {
      const res = await fetch(`${platform.endpoint(ref)}/v2/models/mnist/infer`, {
        method: 'POST',
        body: JSON.stringify({ inputs: [{ name: 'images', shape: [1, 784], datatype: 'FP32', data: images(1) }] }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-scanflow-service')).toBe('main');
      replicas.add(res.headers.get('x-scanflow-replica') ?? '');
      expect(((await res.json()) as { model_version: string }).model_version).toBe('1');
    }
    expect(replicas.size).toBe(2);
    const pods = await platform.podPlacement(ref);
    expect(pods.map((p) => [p.component, p.node, p.ready])).toEqual([
      ['main', 'local', true],
      ['main', 'local', true],
      ['backup', 'local', true],
    ]);
  });

  it('upgrades the model version in place under load: no failed request, answers from both versions, predictions logged', async () => {
    const seen: Array<{ ok: boolean; version?: string }> = [];
    const stop = new AbortController();
    const traffic = load(stop.signal, seen);
    await until(() => seen.length >= 20);
    // The executor agent's action: the platform activity, as registered on a worker.
    await activities.upgradeOnlineWorkflow({ ref, service: 'main', change: { env: { SCANFLOW_MODEL_VERSION: '2' } } });
    const at = seen.length;
    await until(() => seen.length >= at + 24);
    stop.abort();
    const report = await traffic;
    expect(report.failed).toBe(0);
    expect(Object.keys(report.versions).sort()).toEqual(['1', '2']);
    // At most `concurrency` (4) requests were in flight when the upgrade returned; every later one is answered by v2.
    expect(seen.slice(at + 4).filter((r) => r.version !== '2')).toEqual([]);
    const pods = await platform.podPlacement(ref);
    expect(pods.filter((p) => p.component === 'main')).toHaveLength(2); // same processes: switched, not restarted
    // Retrying the same upgrade is a no-op.
    await platform.upgradeOnlineWorkflow(ref, 'main', { env: { SCANFLOW_MODEL_VERSION: '2' } });
    // The replicas' prediction logs hold the requests they answered (flushed every 200 ms).
    await new Promise((r) => setTimeout(r, 600));
    const records = (
      await Promise.all((await listPredictionBatches(store, 'mnist')).map((k) => readPredictionBatch(store, k)))
    ).flat();
    expect(records.filter((r) => r.modelVersion === 2).length).toBeGreaterThanOrEqual(report.versions['2']! * 2);
    expect(records.some((r) => r.id.startsWith('lp-'))).toBe(true);
  });

  it('rolls replicas to a new command line under load without a failed request', async () => {
    const before = (await platform.podPlacement(ref)).filter((p) => p.component === 'main').map((p) => p.pod);
    const seen: Array<{ ok: boolean; version?: string }> = [];
    const stop = new AbortController();
    const traffic = load(stop.signal, seen);
    await until(() => seen.length >= 10);
    // Version 3 plus another env change: not a pure version switch, so replicas are replaced one by one.
    await platform.upgradeOnlineWorkflow(ref, 'main', {
      env: { SCANFLOW_MODEL_VERSION: '3', SCANFLOW_NOTE: 'rolled' },
    });
    const at = seen.length;
    await until(() => seen.length >= at + 10);
    stop.abort();
    const report = await traffic;
    expect(report.failed).toBe(0);
    expect(report.versions['3']).toBeGreaterThan(0);
    const after = (await platform.podPlacement(ref)).filter((p) => p.component === 'main').map((p) => p.pod);
    expect(after).toHaveLength(2);
    expect(after.filter((p) => before.includes(p))).toEqual([]);
    expect((await platform.readyReplicas(ref))[0]).toEqual({
      service: 'main',
      desired: 2,
      ready: 2,
      available: 2,
      updated: 2,
    });
  });

  it('replaces a replica whose process died, like a ReplicaSet', async () => {
    const status = platform.routerStatus(ref) as {
      services: Record<string, { replicas: Array<{ name: string; pid: number }> }>;
    };
    const victim = status.services.main!.replicas[0]!;
    process.kill(victim.pid, 'SIGKILL'); // a replica this test's platform started
    await until(() => {
      const now = platform.routerStatus(ref) as typeof status;
      return (
        now.services.main!.replicas.length === 2 && !now.services.main!.replicas.some((r) => r.name === victim.name)
      );
    });
    expect((await platform.readyReplicas(ref))[0]).toMatchObject({ service: 'main', desired: 2, ready: 2 });
    const res = await fetch(`${platform.endpoint(ref)}/v2/models/mnist/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'images', shape: [1, 784], datatype: 'FP32', data: images(1) }] }),
    });
    expect(res.status).toBe(200);
  });

  it('splits traffic by weight, scales, and fails over to the backup when main has no replica', async () => {
    await platform.updateWorkflowTraffic(ref, { weights: { main: 75, backup: 25 } });
    const services: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      const res = await fetch(`${platform.endpoint(ref)}/v2/health/ready`);
      services.push(res.headers.get('x-scanflow-service') ?? '');
    }
    expect(services.filter((s) => s === 'main')).toHaveLength(15);
    expect(services.filter((s) => s === 'backup')).toHaveLength(5);

    await platform.updateWorkflowTraffic(ref, { active: 'main' });
    await platform.duplicateWorkflowInstance(ref, 'main', 0);
    expect((await platform.readyReplicas(ref))[0]).toMatchObject({ service: 'main', desired: 0, ready: 0 });
    const res = await fetch(`${platform.endpoint(ref)}/v2/models/mnist/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'images', shape: [1, 784], datatype: 'FP32', data: images(1) }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-scanflow-service')).toBe('backup');
    expect(platform.routerStatus(ref)).toMatchObject({ backup: 'backup', failovers: expect.any(Number) });
    expect((platform.routerStatus(ref) as { failovers: number }).failovers).toBeGreaterThan(0);

    await platform.duplicateWorkflowInstance(ref, 'main', 1);
    const again = await fetch(`${platform.endpoint(ref)}/v2/health/ready`);
    expect(again.headers.get('x-scanflow-service')).toBe('main');
  });

  it('rejects bad specs with errors naming the field, changing nothing', async () => {
    await expect(platform.updateWorkflowTraffic(ref, { weights: { main: 50, nope: 50 } })).rejects.toThrow(
      /traffic\.weights\.nope: not a service of this workflow/,
    );
    await expect(platform.duplicateWorkflowInstance(ref, 'main', -1)).rejects.toThrow(
      /replicas must be an integer >= 0, got -1/,
    );
    await expect(
      platform.upgradeOnlineWorkflow(ref, 'ghost', { env: { SCANFLOW_MODEL_VERSION: '2' } }),
    ).rejects.toThrow(/service 'ghost' is not part of online workflow mnist\/serving/);
    await expect(platform.upgradeOnlineWorkflow(ref, 'main', { env: { SCANFLOW_MODEL_VERSION: '' } })).rejects.toThrow(
      /SCANFLOW_MODEL_VERSION must be a positive integer/,
    );
    await expect(platform.readyReplicas({ app: 'mnist', workflow: 'absent' })).rejects.toThrow(
      /mnist\/absent is not deployed/,
    );
    await expect(activities.stopWorkflow({ ref, runId: 'r1' })).rejects.toMatchObject({
      type: 'NotSupported',
      nonRetryable: true,
      message: expect.stringMatching(/stopWorkflow is a batch-workflow primitive/),
    });
    await expect(
      platform.deployWorkflow({
        ...ref,
        workflow: 'bad',
        services: [{ ...modelServer('main', 1, '1'), replicas: 1.5 }],
      }),
    ).rejects.toThrow(/replicas must be an integer >= 0, got 1.5/);
    const res = await fetch(`${platform.endpoint(ref)}/v2/models/mnist/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'images', shape: [1, 784], datatype: 'FP32', data: images(1) }] }),
    });
    expect(((await res.json()) as { model_version: string }).model_version).toBe('3');
  });

  it('deletes the workflow: router closed, every replica process gone; deleting again is a no-op', async () => {
    const endpoint = platform.endpoint(ref);
    const status = platform.routerStatus(ref) as { services: Record<string, { replicas: Array<{ port: number }> }> };
    const ports = Object.values(status.services).flatMap((s) => s.replicas.map((r) => r.port));
    await platform.deleteWorkflow(ref);
    await expect(fetch(`${endpoint}/v2/health/live`)).rejects.toThrow();
    for (const port of ports) await expect(fetch(`http://127.0.0.1:${port}/v2/health/live`)).rejects.toThrow();
    await platform.deleteWorkflow(ref);
    expect(() => platform.endpoint(ref)).toThrow(/not deployed/);
  });
});
