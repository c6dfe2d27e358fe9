/**
 * Prometheus finds a namespace's model-server pods and the nodes through the Kubernetes API
 * (src/stack/prometheus-kubernetes.ts): a real Prometheus with the generated configuration and the
 * discovery endpoint against the harness's control plane (KWOK nodes: the pods get IPs and Run,
 * but nothing answers there, so the targets are asserted as discovered, with the labels the
 * agents select on, not as scraped). The real-node demo test scrapes them for real.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onlineInferenceWorkflow } from '../../../src/apps/mlperf/workloads.js';
import { freePort } from '../../../src/stack/ports.js';
import { startPrometheus, type RunningPrometheus } from '../../../src/stack/prometheus-server.js';
import {
  applyPrometheusConfig,
  kubernetesScrapeConfig,
  startKubernetesDiscovery,
  type KubernetesDiscovery,
} from '../../../src/stack/prometheus-kubernetes.js';
import { adminPlatform, freshNamespace, testCluster, waitFor } from '../../kubernetes/cluster.js';

const c = testCluster();

interface Target {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
}

describe('Prometheus with Kubernetes discovery (http_sd from the API server)', () => {
  let prom: RunningPrometheus;
  let sd: KubernetesDiscovery;
  let ns: string;
  let other: string;

  beforeAll(async () => {
    ns = await freshNamespace(c, 'promsd');
    other = await freshNamespace(c, 'promsd-other');
    const dir = mkdtempSync(join(tmpdir(), 'scanflow-promsd-'));
    sd = await startKubernetesDiscovery({ kubeconfig: c.kubeconfigPath, namespaces: [ns] });
    prom = await startPrometheus({ dataDir: join(dir, 'data'), port: await freePort(), logDir: dir });
    const kc = c.kc;
    await applyPrometheusConfig(
      prom,
      kubernetesScrapeConfig({
        discovery: sd.url,
        apiServer: kc.getCurrentCluster()!.server,
        token: kc.getCurrentUser()!.token!,
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await prom?.process.stop();
    await sd?.close();
  });

  it('lists the annotated Running pods of the namespace with app, workflow, component, pod, namespace, node; and every node through the API server proxy', async () => {
    const store = { kind: 'local' as const, directory: '/store' };
    const spec = onlineInferenceWorkflow({ store, replicas: 2, backup: false });
    await adminPlatform(c, ns).deployWorkflow(spec);
    // The same workflow in a namespace that is not watched: never a target.
    await adminPlatform(c, other).deployWorkflow(spec);
    const targets = await waitFor(
      'two model-server pods as targets',
      async () => {
        const res = (await (await fetch(`${prom.url}/api/v1/targets?state=any`)).json()) as {
          data: { activeTargets: Target[] };
        };
        const pods = res.data.activeTargets.filter((t) => t.scrapePool === 'kubernetes-pods');
        const nodes = res.data.activeTargets.filter((t) => t.scrapePool === 'kubernetes-cadvisor');
        return pods.length === 2 && nodes.length > 0 ? { pods, nodes } : undefined;
      },
      60_000,
    );
    for (const t of targets.pods) {
      expect(t.labels).toMatchObject({
        namespace: ns,
        app: 'mlperf',
        workflow: 'online',
        component: 'model-server',
        pod: expect.stringMatching(/^online-model-server-/),
        node: expect.stringMatching(/.+/),
      });
      expect(t.scrapeUrl).toMatch(/^http:\/\/[\d.]+:8080\/metrics$/);
    }
    const server = new URL(c.kc.getCurrentCluster()!.server);
    const nodes = (await c.core.listNode()).items.map((n) => n.metadata!.name!);
    expect(targets.nodes.map((t) => t.labels.node).sort()).toEqual([...nodes].sort());
    for (const t of targets.nodes)
      expect(t.scrapeUrl).toBe(`https://${server.host}/api/v1/nodes/${t.labels.node}/proxy/metrics/cadvisor`);
  }, 120_000);

  it('refuses a configuration it cannot write, naming the field', () => {
    const base = { discovery: sd.url, apiServer: 'https://10.0.0.1:6443', token: 't' };
    expect(() => kubernetesScrapeConfig({ ...base, apiServer: 'not a url' })).toThrow(/apiServer/);
    expect(() => kubernetesScrapeConfig({ ...base, token: '' })).toThrow(/token/);
    expect(() => kubernetesScrapeConfig({ ...base, scrapeInterval: 'often' })).toThrow(/scrapeInterval/);
  });
});
