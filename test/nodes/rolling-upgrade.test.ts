/**
 * A rolling upgrade of the model server under traffic, on real nodes: the Deployment's model
 * version changes (SCANFLOW_MODEL_VERSION 1 → 2, what the executor agent's upgrade writes); new
 * pods must be Ready (readiness probe on /v2/health/ready) before old ones go (maxUnavailable 0),
 * and an old pod leaves the Service before it stops (preStop sleep, then SIGTERM drains in-flight
 * requests). Requests from the host through the Service, each on a new connection, must all
 * succeed, and the answers must move from version 1 to version 2.
 */
import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Deployment } from '@kubernetes/client-node';
import { inferBody } from '../serving/fixtures.js';
import { describePods, http, readyPods, realPodSpec, waitFor } from './support.js';
import { modelServerContainer, nodesSuite, storeVolume } from './suite.js';

describe('rolling upgrade of the model server on real nodes', () => {
  const suite = nodesSuite('nodes-rolling', { modelVersions: 2 });
  const labels = { app: 'rolling' };

  const deployment = (version: string): V1Deployment => ({
    metadata: { name: 'rolling', labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels },
        spec: realPodSpec(
          [
            {
              ...modelServerContainer(suite.c, {
                env: [{ name: 'SCANFLOW_MODEL_VERSION', value: version }],
                readinessProbe: {
                  httpGet: { path: '/v2/health/ready', port: 'http' },
                  periodSeconds: 1,
                  failureThreshold: 1,
                },
              }),
              // Out of the Service's endpoints (and kube-proxy's rules) before SIGTERM.
              lifecycle: { preStop: { sleep: { seconds: 3 } } },
            },
          ],
          {
            terminationGracePeriodSeconds: 15,
            volumes: [storeVolume(suite.storeDir)],
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'ScheduleAnyway',
                labelSelector: { matchLabels: labels },
              },
            ],
          },
        ),
      },
    },
  });

  it('moves every pod from version 1 to 2 with zero failed requests', async () => {
    const { c, ns } = suite;
    await c.apps.createNamespacedDeployment({ namespace: ns, body: deployment('1') });
    await c.core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'rolling' }, spec: { selector: labels, ports: [{ port: 80, targetPort: 'http' }] } },
    });
    await waitFor('2 Ready pods of version 1', 120_000, () => readyPods(c, ns, 'app=rolling', 2)).catch(
      async (err: unknown) => {
        throw new Error(`${String(err)}\n${await describePods(c, ns)}`);
      },
    );
    const svc = await c.core.readNamespacedService({ name: 'rolling', namespace: ns });
    const url = `http://${svc.spec?.clusterIP}/v2/models/mnist/infer`;
    const body = inferBody(1);
    const infer = async (): Promise<string> => {
      const r = await http(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.slice(0, 200)}`);
      return (JSON.parse(r.body) as { model_version: string }).model_version;
    };
    await waitFor('the Service to answer', 30_000, async () => (await infer()) === '1');

    // Traffic: 2 clients, back to back, until told to stop.
    let stop = false;
    const versions: string[] = [];
    const failures: string[] = [];
    const client = async (): Promise<void> => {
      while (!stop) {
        try {
          versions.push(await infer());
        } catch (err) {
          failures.push(String(err));
        }
        await sleep(20);
      }
    };
    const clients = [client(), client()];
    await sleep(1_000);

    const t0 = Date.now();
    const current = await c.apps.readNamespacedDeployment({ name: 'rolling', namespace: ns });
    current.spec = deployment('2').spec;
    await c.apps.replaceNamespacedDeployment({ name: 'rolling', namespace: ns, body: current });
    await waitFor('the rollout to finish', 150_000, async () => {
      const d = await c.apps.readNamespacedDeployment({ name: 'rolling', namespace: ns });
      const s = d.status;
      return (
        (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
        s?.updatedReplicas === 2 &&
        s?.availableReplicas === 2 &&
        (s?.replicas ?? 0) === 2
      );
    });
    const rolloutSeconds = (Date.now() - t0) / 1000;
    // Old pods may still drain; keep the traffic until only version 2 answers.
    await waitFor('only version 2 answering', 30_000, async () => versions.slice(-10).every((v) => v === '2'));
    await sleep(1_000);
    stop = true;
    await Promise.all(clients);

    process.stderr.write(
      `[nodes] rolling upgrade under traffic: ${rolloutSeconds.toFixed(1)} s, ${versions.length} requests, ${failures.length} failed\n`,
    );
    expect(failures).toEqual([]);
    expect(versions).toContain('1');
    expect(versions[versions.length - 1]).toBe('2');
    expect(versions.slice(-10).every((v) => v === '2')).toBe(true);
  }, 300_000);
});
