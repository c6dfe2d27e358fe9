/**
 * One call for "a Prometheus watching this cluster": the discovery endpoint, the stack's
 * Prometheus and the pod + cAdvisor scrape jobs of prometheus-kubernetes.ts, credentials taken
 * from the kubeconfig's current cluster and user. The MNIST Kubernetes demo, the MLPerf
 * experiments and the suites that need one all start it the same way.
 *
 *   const prom = await startKubernetesPrometheus({ kubeconfig, namespaces: [ns], dir });
 *   … prom.url, prom.query('up') …
 *   await prom.stop();
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { freePort } from './ports.js';
import { startPrometheus, type RunningPrometheus } from './prometheus-server.js';
import {
  applyPrometheusConfig,
  kubernetesScrapeConfig,
  startKubernetesDiscovery,
  type KubernetesDiscovery,
  type KubernetesDiscoveryOptions,
} from './prometheus-kubernetes.js';

export interface KubernetesPrometheusOptions extends KubernetesDiscoveryOptions {
  /** Prometheus's data (dir/prometheus) and the API server's CA file go here. */
  dir: string;
  /** Where prometheus.log goes (default dir). */
  logDir?: string;
  /** Scrape and discovery interval (default 2s). */
  scrapeInterval?: string;
}

export interface KubernetesPrometheus {
  url: string;
  prometheus: RunningPrometheus;
  discovery: KubernetesDiscovery;
  /** One instant query: the result vector's samples as [labels, value]. */
  query(expr: string): Promise<Array<[Record<string, string>, number]>>;
  stop(): Promise<void>;
}

/** The API server's URL, bearer token and CA (written to a file) from the kubeconfig. */
function credentials(kubeconfig: string, dir: string): { apiServer: string; token: string; caFile?: string } {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const cluster = kc.getCurrentCluster();
  const token = kc.getCurrentUser()?.token;
  if (!cluster?.server || !token)
    throw new Error(
      `the kubeconfig ${kubeconfig} needs a current cluster with a server and a user with a bearer token (Prometheus reads cAdvisor through the API server as that user)`,
    );
  if (!cluster.caData) return { apiServer: cluster.server, token };
  const caFile = join(dir, 'apiserver-ca.pem');
  writeFileSync(caFile, Buffer.from(cluster.caData, 'base64'));
  return { apiServer: cluster.server, token, caFile };
}

export async function startKubernetesPrometheus(o: KubernetesPrometheusOptions): Promise<KubernetesPrometheus> {
  mkdirSync(o.dir, { recursive: true });
  const creds = credentials(o.kubeconfig, o.dir);
  const discovery = await startKubernetesDiscovery(o);
  let prometheus: RunningPrometheus | undefined;
  try {
    prometheus = await startPrometheus({
      dataDir: join(o.dir, 'prometheus'),
      port: await freePort(),
      logDir: o.logDir ?? o.dir,
    });
    await applyPrometheusConfig(
      prometheus,
      kubernetesScrapeConfig({
        discovery: discovery.url,
        ...creds,
        ...(o.scrapeInterval ? { scrapeInterval: o.scrapeInterval } : {}),
      }),
    );
  } catch (err) {
    await prometheus?.process.stop();
    await discovery.close();
    throw err;
  }
  const prom = prometheus;
  return {
    url: prom.url,
    prometheus: prom,
    discovery,
    query: (expr) => instantQuery(prom.url, expr),
    async stop() {
      await prom.process.stop();
      await discovery.close();
    },
  };
}

async function instantQuery(url: string, expr: string): Promise<Array<[Record<string, string>, number]>> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  if (body.status !== 'success') throw new Error(`Prometheus query ${expr}: ${body.error ?? res.status}`);
  return (body.data?.result ?? []).map((r) => [r.metric, Number(r.value[1])]);
}
