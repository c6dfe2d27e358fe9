/**
 * Registry ↔ served-version reconciliation on the local platform, with the failure caused for
 * real: two model-server processes serve version 1 from a registry on S3; version 2 is promoted and
 * the in-place upgrade starts, and one replica's process is killed (SIGKILL) while the switch is
 * under way. The upgrade fails; the platform replaces the dead replica on the old spec. The
 * registry says 2, the service is set to 1: servingDrift reports the drift, reconcileServedModel
 * switches every replica to 2 (recording the decision), and a second call does nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServingReconcileActivities } from '../../src/activities/agents/reconcile-serving.js';
import type { ModelRegistry } from '../../src/knowledge/model-registry.js';
import { LocalPlatform } from '../../src/platform/local/local-platform.js';
import { localModelServerSupport } from '../../src/serving/local-model-server.js';
import { MODEL_VERSION_ENV } from '../../src/serving/model-version.js';
import { modelServerService } from '../../src/serving/service-spec.js';
import { images, s3Store, seededRegistry, uniqueS3StoreConfig } from '../serving/fixtures.js';

const ref = { app: 'mnist', workflow: 'serving' };
const MODEL = 'mnist';

describe('local platform: a replica killed during the switch, then reconciled', () => {
  const storeConfig = uniqueS3StoreConfig('reconcile-local');
  const store = s3Store(storeConfig);
  const platform = new LocalPlatform({
    ...localModelServerSupport(storeConfig),
    workDir: mkdtempSync(join(tmpdir(), 'scanflow-reconcile-local-')),
    healthIntervalMs: 200,
  });
  const reconcile = createServingReconcileActivities({ store, platform });
  const target = { model: MODEL, ref, service: 'main' };
  let registry: ModelRegistry;

  beforeAll(async () => {
    registry = await seededRegistry(store, MODEL, 2); // production 1
    await platform.deployWorkflow({
      ...ref,
      services: [
        modelServerService({
          name: 'main',
          store: storeConfig,
          model: MODEL,
          replicas: 2,
          version: 1,
          logFlushMs: 200,
        }),
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await platform.close();
  });

  /** The version each request through the router was answered with. */
  const servedVersions = async (n: number): Promise<Set<string>> => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i += 1) {
      const res = await fetch(`${platform.endpoint(ref)}/v2/models/mnist/infer`, {
        method: 'POST',
        body: JSON.stringify({ inputs: [{ name: 'images', shape: [1, 784], datatype: 'FP32', data: images(1) }] }),
      });
      expect(res.status).toBe(200);
      seen.add(((await res.json()) as { model_version: string }).model_version);
    }
    return seen;
  };

  /** Until the replica `pid` was replaced (the health loop noticed it died) and 2 replicas are ready. */
  const replaced = async (pid: number) => {
    for (let i = 0; i < 600; i += 1) {
      const now = platform.routerStatus(ref) as { services: Record<string, { replicas: Array<{ pid: number }> }> };
      const replicas = now.services.main?.replicas ?? [];
      const [s] = await platform.readyReplicas(ref);
      if (replicas.length === 2 && !replicas.some((r) => r.pid === pid) && s?.ready === 2) return;
      await sleep(100);
    }
    throw new Error('the local platform did not replace the killed replica');
  };

  it('fails the upgrade for real, detects the drift, reconciles once', async () => {
    expect(await reconcile.servingDrift(target)).toMatchObject({ state: 'in-sync', production: 1, desired: '1' });
    await registry.promote(2);

    // The executor's upgrade, with a replica's process killed as the switch starts.
    const status = platform.routerStatus(ref) as { services: Record<string, { replicas: Array<{ pid: number }> }> };
    const victim = status.services.main!.replicas.at(-1)!;
    const upgrade = platform.upgradeOnlineWorkflow(ref, 'main', { env: { [MODEL_VERSION_ENV]: 2 } });
    process.kill(victim.pid, 'SIGKILL'); // a model server this test's platform started
    const failure = await upgrade.then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(failure?.message).toMatch(
      /replica .* \(http:\/\/127\.0\.0\.1:\d+\) could not be reached to apply model version 2: fetch failed/,
    );
    await replaced(victim.pid); // on the spec the service still has

    // Registry 2, service set to 1: the drift the sensor reports.
    const drift = await reconcile.servingDrift(target);
    expect(drift).toMatchObject({ production: 2, desired: '1', state: 'drifted', drifted: true });
    expect(await servedVersions(6)).toContain('1');

    // The reconciliation switches every replica to 2 and records it.
    const decision = await reconcile.reconcileServedModel(target);
    expect(decision).toMatchObject({ action: 'upgraded', production: 2, desired: '1' });
    expect(await reconcile.servingDrift(target)).toMatchObject({
      state: 'in-sync',
      desired: '2',
      replicas: ['2', '2'],
    });
    expect(await servedVersions(6)).toEqual(new Set(['2']));
    // Idempotent: nothing more to do.
    expect(await reconcile.reconcileServedModel(target)).toMatchObject({ action: 'none', state: 'in-sync' });
    const recorded = await store.list(`serving/reconcile/${MODEL}/`);
    expect(recorded).toHaveLength(1);
    console.log(`local platform: upgrade killed mid-switch failed with "${failure!.message}"; reconciled to version 2`);
  }, 180_000);
});
