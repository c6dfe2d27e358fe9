/**
 * The project's image on real nodes: a model-server pod (src/serving/main.ts through the image's
 * `serve` entry point, native TensorFlow) starts, becomes Ready by its readiness probe on
 * /v2/health/ready, and answers the Open Inference Protocol v2 through its Service (kube-proxy)
 * from this host. The registry is a directory store on the host, mounted into the pod.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKnowledgeStore } from '../../src/knowledge/open-store.js';
import { seededRegistry, inferBody } from '../serving/fixtures.js';
import {
  cluster,
  createNamespace,
  deleteNamespace,
  describePods,
  http,
  imageContainer,
  readyPods,
  realPodSpec,
  waitFor,
  type Cluster,
} from './support.js';

describe('the model server image on real nodes', () => {
  let c: Cluster;
  let ns: string;
  let storeDir: string;
  const labels = { app: 'oip' };

  beforeAll(async () => {
    c = cluster();
    ns = await createNamespace(c, 'nodes-oip');
    storeDir = mkdtempSync(join(tmpdir(), 'scanflow-nodes-store-'));
    await seededRegistry(openKnowledgeStore({ kind: 'local', directory: storeDir }), 'mnist', 1);
    // The pod runs as uid 1000: let it read (and write its scratch files in) the host directory.
    chmodSync(storeDir, 0o777);
  }, 60_000);

  afterAll(async () => {
    if (c) await deleteNamespace(c, ns);
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
  }, 120_000);

  it('starts, gets Ready by /v2/health/ready, and serves OIP v2 through its Service from the host', async () => {
    const t0 = Date.now();
    await c.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'oip', labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: realPodSpec(
              [
                imageContainer(c, {
                  name: 'model-server',
                  args: [
                    'serve',
                    '--store',
                    '/store',
                    '--model',
                    'mnist',
                    '--host',
                    '0.0.0.0',
                    '--port',
                    '8080',
                    '--no-log',
                  ],
                  ports: [{ name: 'http', containerPort: 8080 }],
                  readinessProbe: { httpGet: { path: '/v2/health/ready', port: 'http' }, periodSeconds: 1 },
                  livenessProbe: { httpGet: { path: '/v2/health/live', port: 'http' }, initialDelaySeconds: 30 },
                  resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
                  volumeMounts: [{ name: 'store', mountPath: '/store' }],
                }),
              ],
              { volumes: [{ name: 'store', hostPath: { path: storeDir, type: 'Directory' } }] },
            ),
          },
        },
      },
    });
    await c.core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'oip' },
        spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      },
    });

    const [pod] = await waitFor('the model-server pod to be Ready', 120_000, () =>
      readyPods(c, ns, 'app=oip', 1),
    ).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\n${await describePods(c, ns)}`);
    });
    const readySeconds = (Date.now() - t0) / 1000;
    process.stderr.write(
      `[nodes] model-server pod: created → Ready in ${readySeconds.toFixed(1)} s on ${pod!.spec?.nodeName}\n`,
    );
    expect(c.info.nodes.map((n) => n.name)).toContain(pod!.spec?.nodeName);

    const svc = await c.core.readNamespacedService({ name: 'oip', namespace: ns });
    const base = `http://${svc.spec?.clusterIP}`;
    // kube-proxy writes the Service's rules a moment after the endpoint turns Ready.
    await waitFor('the Service to answer', 30_000, async () => (await http(`${base}/v2/health/ready`)).status === 200);

    const meta = await http(`${base}/v2/models/mnist`);
    expect(meta.status).toBe(200);
    expect(JSON.parse(meta.body)).toMatchObject({ name: 'mnist' });

    const res = await http(`${base}/v2/models/mnist/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: inferBody(3),
    });
    expect(res.status).toBe(200);
    const out = JSON.parse(res.body) as { model_name: string; outputs: Array<{ shape: number[]; data: number[] }> };
    expect(out.model_name).toBe('mnist');
    const probs = out.outputs.find((o) => o.shape.length === 2 && o.shape[1] === 10);
    expect(probs?.shape).toEqual([3, 10]);

    // A bad request is refused by the server in the pod, not by the path to it.
    const bad = await http(`${base}/v2/models/mnist/infer`, { method: 'POST', body: '{"inputs": 1}' });
    expect(bad.status).toBe(400);
  }, 180_000);
});
