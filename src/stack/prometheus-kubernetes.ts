/**
 * Prometheus scraping a Kubernetes cluster, for the Prometheus of src/stack/prometheus-server.ts.
 * Two jobs:
 *
 *   <job>-pods      every Running pod of the given namespaces annotated prometheus.io/scrape=true,
 *                   at <pod IP>:<prometheus.io/port><prometheus.io/path>; its series carry the labels
 *                   the agents select on: namespace, pod, node, and the pod's app, workflow and
 *                   component (the platform's labels app, workflow, scanflow.io/component);
 *   <job>-cadvisor  each node's cAdvisor (container_cpu_usage_seconds_total by namespace, pod,
 *                   container) through the API server's node proxy
 *                   /api/v1/nodes/<node>/proxy/metrics/cadvisor, with a bearer token, so Prometheus
 *                   needs no route to, nor credentials for, the kubelets.
 *
 * Discovery: Debian's Prometheus (the one provisioned here) is built without
 * `kubernetes_sd_configs`, so the targets come from `http_sd_configs` served by
 * `startKubernetesDiscovery`: a loopback HTTP endpoint that lists the pods and nodes from the API
 * server on each refresh (every 2 s) and answers with the target groups and the labels above, the
 * same relabelling a kubernetes_sd_configs job would do.
 *
 *   const sd = await startKubernetesDiscovery({ kubeconfig, namespaces: ['ns'], nodeLabel });
 *   const prom = await startPrometheus({ dataDir, port, logDir });
 *   await applyPrometheusConfig(prom, kubernetesScrapeConfig({ discovery: sd.url, apiServer, token, caFile }));
 *   …
 *   await sd.close();
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { RunningPrometheus } from './prometheus-server.js';

/** Pod labels copied onto the series: Kubernetes label → Prometheus label. */
export const POD_LABELS: Record<string, string> = {
  app: 'app',
  workflow: 'workflow',
  'scanflow.io/component': 'component',
};

export interface KubernetesDiscoveryOptions {
  /** Kubeconfig of a user allowed to list pods (in the namespaces) and nodes. */
  kubeconfig: string;
  /** Namespaces whose annotated pods are targets (at least one). */
  namespaces: string[];
  /** Only nodes with this label are cAdvisor targets (e.g. real nodes beside KWOK's). Default: all. */
  nodeLabel?: { name: string; value: string };
}

export interface KubernetesDiscovery {
  /** Base URL; the pods are at `${url}/pods`, the nodes at `${url}/nodes`. */
  url: string;
  close(): Promise<void>;
}

interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** Target groups of the annotated, Running pods (one per pod), with the agents' labels. */
export function podTargets(pods: V1Pod[]): TargetGroup[] {
  const out: TargetGroup[] = [];
  for (const p of pods) {
    const ann = p.metadata?.annotations ?? {};
    const ip = p.status?.podIP;
    const port = ann['prometheus.io/port'];
    if (ann['prometheus.io/scrape'] !== 'true' || p.status?.phase !== 'Running' || !ip || !port) continue;
    if (p.metadata?.deletionTimestamp) continue;
    const labels: Record<string, string> = {
      __metrics_path__: ann['prometheus.io/path'] || '/metrics',
      namespace: p.metadata?.namespace ?? '',
      pod: p.metadata?.name ?? '',
      node: p.spec?.nodeName ?? '',
    };
    for (const [k, v] of Object.entries(POD_LABELS)) {
      const value = p.metadata?.labels?.[k];
      if (value !== undefined) labels[v] = value;
    }
    out.push({ targets: [`${ip}:${port}`], labels });
  }
  return out;
}

export async function startKubernetesDiscovery(o: KubernetesDiscoveryOptions): Promise<KubernetesDiscovery> {
  if (!Array.isArray(o.namespaces) || o.namespaces.length === 0 || o.namespaces.some((n) => !n))
    throw new Error('startKubernetesDiscovery: namespaces: at least one namespace name');
  const kc = new KubeConfig();
  kc.loadFromFile(o.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const groups = async (path: string): Promise<TargetGroup[]> => {
    if (path === '/pods') {
      const lists = await Promise.all(o.namespaces.map((namespace) => core.listNamespacedPod({ namespace })));
      return podTargets(lists.flatMap((l) => l.items));
    }
    if (path === '/nodes') {
      const nodes = await core.listNode(
        o.nodeLabel ? { labelSelector: `${o.nodeLabel.name}=${o.nodeLabel.value}` } : {},
      );
      // The address is the API server's (set in the job); the node only picks the proxy path.
      return nodes.items.map((n) => ({
        targets: [n.metadata!.name!],
        labels: {
          node: n.metadata!.name!,
          __metrics_path__: `/api/v1/nodes/${n.metadata!.name!}/proxy/metrics/cadvisor`,
        },
      }));
    }
    throw new Error(`unknown path ${path}`);
  };
  const server: Server = createServer((req, res) => {
    groups(req.url ?? '').then(
      (g) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(g)),
      (err: unknown) => res.writeHead(/unknown path/.test(String(err)) ? 404 : 503).end(String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface KubernetesScrapeOptions {
  /** startKubernetesDiscovery's url. */
  discovery: string;
  /** The API server's URL, e.g. https://10.99.0.1:6443 (cAdvisor is read through its node proxy). */
  apiServer: string;
  /** Bearer token for the API server (a user allowed to get nodes/proxy). */
  token: string;
  /** CA certificate (PEM file) of the API server; omitted: the certificate is not checked. */
  caFile?: string;
  /** Prefix of the two job names (default "kubernetes"). */
  job?: string;
  /** How often targets are scraped and discovered (default 2s). */
  scrapeInterval?: string;
  /** cAdvisor series kept (regular expression over the metric name; default the CPU counter). */
  cadvisorMetrics?: string;
}

const q = (s: string): string => JSON.stringify(s);

/** The whole prometheus.yml: global settings (1 s evaluation) and the two jobs. */
export function kubernetesScrapeConfig(o: KubernetesScrapeOptions): string {
  let api: URL;
  try {
    api = new URL(o.apiServer);
  } catch {
    throw new Error(`apiServer: expected an https URL, got ${q(o.apiServer)}`);
  }
  if (!/^https?:$/.test(api.protocol)) throw new Error(`apiServer: expected an http(s) URL, got ${q(o.apiServer)}`);
  if (!/^https?:\/\//.test(o.discovery ?? ''))
    throw new Error(`discovery: expected an http URL, got ${q(o.discovery)}`);
  if (!o.token) throw new Error('token: a bearer token for the API server is required');
  const interval = o.scrapeInterval ?? '2s';
  if (!/^\d+(ms|s|m)$/.test(interval))
    throw new Error(`scrapeInterval: expected a duration like "2s", got ${q(interval)}`);
  const job = o.job ?? 'kubernetes';
  const base = o.discovery.replace(/\/+$/, '');
  const lines = [
    'global:',
    `  scrape_interval: ${interval}`,
    '  evaluation_interval: 1s',
    'scrape_configs:',
    `  - job_name: ${q(`${job}-pods`)}`,
    `    scrape_interval: ${interval}`,
    `    scrape_timeout: ${interval}`,
    '    http_sd_configs:',
    `      - url: ${q(`${base}/pods`)}`,
    `        refresh_interval: ${interval}`,
    `  - job_name: ${q(`${job}-cadvisor`)}`,
    `    scrape_interval: ${interval}`,
    `    scrape_timeout: ${interval}`,
    `    scheme: ${api.protocol.replace(':', '')}`,
    '    authorization:',
    `      credentials: ${q(o.token)}`,
    '    tls_config:',
    ...(o.caFile ? [`      ca_file: ${q(o.caFile)}`] : ['      insecure_skip_verify: true']),
    '    http_sd_configs:',
    `      - url: ${q(`${base}/nodes`)}`,
    `        refresh_interval: ${interval}`,
    '    relabel_configs:',
    '      - target_label: __address__',
    `        replacement: ${q(api.host)}`,
    '    metric_relabel_configs:',
    '      - source_labels: [__name__]',
    `        regex: ${q(o.cadvisorMetrics ?? 'container_cpu_usage_seconds_total')}`,
    '        action: keep',
  ];
  return lines.join('\n') + '\n';
}

/** Writes a configuration into a running Prometheus's file and has it reloaded. */
export async function applyPrometheusConfig(prom: RunningPrometheus, config: string): Promise<void> {
  writeFileSync(prom.configFile, config);
  const res = await fetch(`${prom.url}/-/reload`, { method: 'POST' });
  if (!res.ok) throw new Error(`prometheus reload failed: ${res.status} ${await res.text()}`);
}
