/**
 * Prometheus for the Kubernetes demo: the stack's Prometheus (Debian's build) with the pod and
 * cAdvisor jobs of src/stack/prometheus-kubernetes.ts, whose discovery endpoint lists the
 * namespace's annotated pods from the API server (Debian's Prometheus has no kubernetes_sd_configs).
 * The model-server pods carry prometheus.io/scrape|port|path, so their OIP metrics are scraped at
 * their pod IPs, which this host reaches through the node bridges.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { REAL_NODE_LABEL } from '../../../platform/kubernetes/control-plane/real-nodes.js';
import { freePort } from '../../../stack/ports.js';
import { startPrometheus } from '../../../stack/prometheus-server.js';
import {
  applyPrometheusConfig,
  kubernetesScrapeConfig,
  startKubernetesDiscovery,
} from '../../../stack/prometheus-kubernetes.js';

export interface DemoPrometheus {
  url: string;
  /** One instant query; the result vector's samples as [labels, value]. */
  query(expr: string): Promise<Array<[Record<string, string>, number]>>;
  stop(): Promise<void>;
}

export async function startDemoPrometheus(o: {
  kubeconfigPath: string;
  namespace: string;
  dataDir: string;
  logDir: string;
}): Promise<DemoPrometheus> {
  const kc = new KubeConfig();
  kc.loadFromFile(o.kubeconfigPath);
  const cluster = kc.getCurrentCluster();
  const token = kc.getCurrentUser()?.token;
  if (!cluster || !token) throw new Error(`${o.kubeconfigPath}: no current cluster or no bearer token`);
  const caFile = join(o.dataDir, 'apiserver-ca.pem');
  const discovery = await startKubernetesDiscovery({
    kubeconfig: o.kubeconfigPath,
    namespaces: [o.namespace],
    nodeLabel: { name: REAL_NODE_LABEL, value: 'real' },
  });
  try {
    const prom = await startPrometheus({ dataDir: o.dataDir, port: await freePort(), logDir: o.logDir });
    if (cluster.caData) writeFileSync(caFile, Buffer.from(cluster.caData, 'base64'));
    await applyPrometheusConfig(
      prom,
      kubernetesScrapeConfig({
        discovery: discovery.url,
        apiServer: cluster.server,
        token,
        caFile: cluster.caData ? caFile : undefined,
        scrapeInterval: '2s',
      }),
    );
    return {
      url: prom.url,
      async query(expr) {
        const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
        const body = (await res.json()) as {
          status: string;
          error?: string;
          data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
        };
        if (body.status !== 'success') throw new Error(`Prometheus query ${expr}: ${body.error ?? res.status}`);
        return (body.data?.result ?? []).map((r) => [r.metric, Number(r.value[1])]);
      },
      async stop() {
        await prom.process.stop();
        await discovery.close();
      },
    };
  } catch (err) {
    await discovery.close();
    throw err;
  }
}
