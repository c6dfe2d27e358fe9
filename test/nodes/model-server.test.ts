/**
 * The project's image on real nodes: a model-server pod (src/serving/main.ts through the image's
 * `serve` entry point, native TensorFlow) starts, becomes Ready by its readiness probe on
 * /v2/health/ready, and answers the Open Inference Protocol v2 through its Service (kube-proxy)
 * from this host. The registry is a directory store on the host, mounted into the pod.
 */
import { describe, expect, it } from '@jest/globals';
import { inferBody } from '../serving/fixtures.js';
import { describePods, http, readyPods, realPodSpec, waitFor } from './support.js';
import { modelServerContainer, nodesSuite, storeVolume } from './suite.js';

describe('the model server image on real nodes', () => {
  const suite = nodesSuite('nodes-oip', { modelVersions: 1 });
  const labels = { app: 'oip' };

  it('starts, gets Ready by /v2/health/ready, and serves OIP v2 through its Service from the host', async () => {
    const { c, ns } = suite;
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
                modelServerContainer(c, {
                  livenessProbe: { httpGet: { path: '/v2/health/live', port: 'http' }, initialDelaySeconds: 30 },
                }),
              ],
              { volumes: [storeVolume(suite.storeDir)] },
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
