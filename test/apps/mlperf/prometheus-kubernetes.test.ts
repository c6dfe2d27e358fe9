/**
 * Prometheus finds a namespace's model-server pods and the nodes through the Kubernetes API
 * (src/stack/prometheus-kubernetes.ts), started as the experiments start it
 * (startKubernetesPrometheus: the discovery endpoint, a real Prometheus and the generated
 * scrape configuration from a kubeconfig) against the harness's control plane (KWOK nodes: the pods get IPs and Run,
 * but nothing answers there, so the targets are asserted as discovered, with the labels the
 * agents select on, not as scraped). The real-node demo test scrapes them for real.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onlineInferenceWorkflow } from '../../../src/apps/mlperf/workloads.js';
import { startKubernetesPrometheus, type KubernetesPrometheus } from '../../../src/stack/kubernetes-prometheus.js';
import { kubernetesScrapeConfig } from '../../../src/stack/prometheus-kubernetes.js';
import { adminPlatform, freshNamespace, testCluster, waitFor } from '../../kubernetes/cluster.js';

const c = testCluster();

interface Target {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
}

describe('Prometheus with Kubernetes discovery (http_sd from the API server)', () => {
  let prom: KubernetesPrometheus;
  let ns: string;
  let other: string;

  beforeAll(async () => {
    ns = await freshNamespace(c, 'promsd');
    other = await freshNamespace(c, 'promsd-other');
    prom = await startKubernetesPrometheus({
      kubeconfig: c.kubeconfigPath,
      namespaces: [ns],
      dir: mkdtempSync(join(tmpdir(), 'scanflow-promsd-')),
    });
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
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

  it('refuses a kubeconfig without a bearer token, naming the kubeconfig, and starts nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scanflow-promsd-notoken-'));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: c.kc.clusters,
      contexts: c.kc.contexts,
      currentContext: c.kc.currentContext,
      users: c.kc.users.map(({ token: _token, ...u }) => u),
    });
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kc.exportConfig());
    await expect(startKubernetesPrometheus({ kubeconfig, namespaces: [ns], dir })).rejects.toThrow(
      `the kubeconfig ${kubeconfig} needs a current cluster with a server and a user with a bearer token`,
    );
  });

  it('refuses a configuration it cannot write, naming the field', () => {
    const base = { discovery: prom.discovery.url, apiServer: 'https://10.0.0.1:6443', token: 't' };
    expect(() => kubernetesScrapeConfig({ ...base, apiServer: 'not a url' })).toThrow(/apiServer/);
    expect(() => kubernetesScrapeConfig({ ...base, token: '' })).toThrow(/token/);
    expect(() => kubernetesScrapeConfig({ ...base, scrapeInterval: 'often' })).toThrow(/scrapeInterval/);
  });
});
