/**
 * A real autoscaler on real nodes: the HorizontalPodAutoscaler that the platform writes for a
 * service deployed with `autoscaling: { kind: 'hpa' }` is run by kube-controller-manager's HPA
 * controller, which reads pod CPU from metrics.k8s.io, served by metrics-server (built from its Go
 * module, scraping the kubelets) through the API server's aggregation layer. Under load from this
 * host the model server scales from 1 to 2 pods; the test measures how long that takes.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { AutoscalingV2Api, KubeConfig } from '@kubernetes/client-node';
import { KubernetesPlatform } from '../../src/platform/kubernetes/adapter.js';
import { componentLabels, selectorOf, serviceObjectName } from '../../src/platform/names.js';
import type { WorkflowRef } from '../../src/platform/types.js';
import { inferBody } from '../serving/fixtures.js';
import { closedLoop, describePods, http, kubectl, loadAverage, mountStore, podReady, waitFor } from './support.js';
import { nodesSuite } from './suite.js';

const ref: WorkflowRef = { app: 'hpa', workflow: 'serving' };
const BODY = inferBody(16);

describe('an HPA scales the model server on real nodes (metrics-server + kube-controller-manager)', () => {
  const suite = nodesSuite('nodes-hpa', { realNodes: true, modelVersions: 1 });
  let hpaApi: AutoscalingV2Api;
  const name = serviceObjectName(ref, 'model-server');

  beforeAll(() => {
    const kc = new KubeConfig();
    kc.loadFromFile(suite.c.kubeconfig);
    hpaApi = kc.makeApiClient(AutoscalingV2Api);
  });

  it('pod CPU reaches the HPA through metrics.k8s.io, and load scales the Deployment from 1 to 2', async () => {
    const { c, ns, storeDir } = suite;
    const platform = new KubernetesPlatform({ namespace: ns, kubeconfigPath: c.kubeconfig });
    await platform.deployWorkflow({
      ...ref,
      services: [
        {
          name: 'model-server',
          image: c.info.image.ref,
          args: ['serve', '--store', '/store', '--model', 'mnist', '--host', '0.0.0.0', '--port', '8080', '--no-log'],
          port: 8080,
          replicas: 1,
          readinessPath: '/v2/health/ready',
          // Utilisation is relative to the request: 200m busy at 50 % is 100m of CPU.
          resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } },
          affinity: {
            antiAffinity: [{ matchLabels: componentLabels(ref, 'model-server'), mode: 'preferred', weight: 100 }],
          },
          autoscaling: { kind: 'hpa', minReplicas: 1, maxReplicas: 2, cpuUtilization: 50 },
        },
      ],
    });
    await mountStore(c, ns, name, storeDir);
    const selector = selectorOf(componentLabels(ref, 'model-server'));
    const ready = async (count: number): Promise<string[] | undefined> => {
      const list = await c.core.listNamespacedPod({ namespace: ns, labelSelector: selector });
      const live = list.items.filter((p) => !p.metadata?.deletionTimestamp);
      const r = live.filter(podReady);
      return r.length >= count && live.length === r.length ? r.map((p) => p.metadata!.name!) : undefined;
    };
    await waitFor('1 Ready model-server pod', 180_000, () => ready(1)).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\n${await describePods(c, ns)}`);
    });
    const svc = await c.core.readNamespacedService({ name: ref.workflow, namespace: ns });
    const url = `http://${svc.spec?.clusterIP}:8080/v2/models/mnist/infer`;
    await waitFor('the Service to answer', 30_000, async () => {
      const r = await http(url, { method: 'POST', body: BODY, headers: { 'content-type': 'application/json' } });
      return r.status === 200;
    });

    // The metrics pipeline: the pod's CPU in metrics.k8s.io, then in the HPA's status.
    const podMetrics = await waitFor('pod metrics in metrics.k8s.io', 90_000, async () => {
      const m = JSON.parse(
        await kubectl(c, ['get', '--raw', `/apis/metrics.k8s.io/v1beta1/namespaces/${ns}/pods`]),
      ) as unknown;
      const items = (m as { items?: Array<{ containers: Array<{ usage: { cpu: string } }> }> }).items ?? [];
      return items.length > 0 ? items : undefined;
    });
    await waitFor('the HPA to read the CPU metric', 90_000, async () => {
      const h = await hpaApi.readNamespacedHorizontalPodAutoscaler({ name, namespace: ns });
      return (h.status?.currentMetrics?.length ?? 0) > 0;
    });

    // Load until the HPA has scaled to 2 and both pods are Ready.
    let release!: () => void;
    const stop = new Promise<void>((r) => (release = r));
    const t0 = Date.now();
    const load = closedLoop({ url, body: BODY, concurrency: 4, stop });
    let decidedAt = 0;
    let utilisation = 0;
    await waitFor(
      'the HPA to scale to 2 Ready pods',
      180_000,
      async () => {
        const h = await hpaApi.readNamespacedHorizontalPodAutoscaler({ name, namespace: ns });
        utilisation = Math.max(utilisation, h.status?.currentMetrics?.[0]?.resource?.current?.averageUtilization ?? 0);
        if (!decidedAt && (h.status?.desiredReplicas ?? 0) >= 2) decidedAt = Date.now();
        return decidedAt ? ready(2) : undefined;
      },
      500,
    );
    const readyAt = Date.now();
    release();
    const r = await load;
    const pods = await c.core.listNamespacedPod({ namespace: ns, labelSelector: selector });
    const nodes = new Set(pods.items.map((p) => p.spec?.nodeName));
    process.stderr.write(
      `[nodes] HPA (target 50 % of 200m, metric resolution 10 s, sync 5 s): under load (${(r.ok / r.seconds).toFixed(1)} req/s, ${r.failed} failed, peak ${utilisation} %) desired 2 after ${((decidedAt - t0) / 1000).toFixed(1)} s, 2 pods Ready on ${nodes.size} node(s) after ${((readyAt - t0) / 1000).toFixed(1)} s; pod CPU before load ${podMetrics[0]!.containers[0]!.usage.cpu} (load avg ${loadAverage()})\n`,
    );
    expect(decidedAt).toBeGreaterThan(0);
    expect(r.failed).toBe(0);
  }, 420_000);
});
