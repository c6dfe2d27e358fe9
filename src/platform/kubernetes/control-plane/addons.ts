/**
 * The cluster add-ons a real-node cluster needs for its objects to take effect, each the real Go
 * program (scripts/provision-nodes builds them from their modules), run as processes on this host
 * next to the control plane, on the nodes' bridge address so that the API server and the pods
 * reach them:
 *
 *   metrics-server  sigs.k8s.io/metrics-server: scrapes every real kubelet's /metrics/resource and
 *                   serves metrics.k8s.io through the aggregation layer (an APIService whose
 *                   selectorless Service points at this process), which the HorizontalPodAutoscaler
 *                   controller of kube-controller-manager reads. `kubectl top` works too.
 *   CoreDNS         github.com/coredns/coredns with its kubernetes plugin: serves cluster.local from
 *                   the API server on <bridge address>:53, the kubelets' clusterDNS, so pods reach
 *                   Services by name (<svc>.<ns>.svc.cluster.local and the search path).
 *
 * KEDA's operator and metrics adapter are started the same way, in keda.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../../../stack/binaries.js';
import { freePort } from '../../../stack/ports.js';
import { ManagedProcess } from '../../../stack/process.js';
import { exists, httpsAnswers, httpsRequest } from './host.js';

export const CLUSTER_DOMAIN = 'cluster.local';

export const addonBinary = (name: 'metrics-server' | 'coredns'): string => join(cacheDir(), 'bin', name);

export function missingAddons(): string[] {
  return (['metrics-server', 'coredns'] as const)
    .filter((b) => !exists(addonBinary(b)))
    .map((b) => `'${b}' is missing from ${join(cacheDir(), 'bin')}: run 'bash scripts/provision nodes'`);
}

export interface AddonContext {
  /** https://<bridge address>:<port> */
  server: string;
  adminToken: string;
  /** Admin kubeconfig of the cluster. */
  kubeconfigPath: string;
  /** The address the add-ons bind (the nodes' bridge address, where the API server listens too). */
  bindIp: string;
  workDir: string;
  logDir: string;
}

export async function apiCall(ctx: AddonContext, method: string, path: string, body?: unknown): Promise<number> {
  const res = await httpsRequest(`${ctx.server}${path}`, {
    token: ctx.adminToken,
    method,
    body,
    timeoutMs: 10_000,
  });
  // 409: already there (a restarted add-on registers again).
  if (res.status >= 300 && res.status !== 409)
    throw new Error(`${method} ${path}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
  return res.status;
}

export interface HostApiService {
  namespace: string;
  /** The selectorless Service the APIService names; its EndpointSlice points at this host. */
  service: string;
  /** The process's HTTPS port on ctx.bindIp. */
  port: number;
  group: string;
  version: string;
  /** CA of the process's serving certificate; omitted: not verified (a self-signed one). */
  caBundle?: Buffer;
  /** What must answer 200 before the start-up is done (default the group version's discovery). */
  servedPath?: string;
}

/**
 * An extension API server running as a process on this host, registered through the aggregation
 * layer: a selectorless Service whose EndpointSlice is <bindIp>:<port>, and the APIService
 * <version>.<group> naming it. Resolves once the API server answers 200 at servedPath (60 s).
 */
export async function registerHostApiService(ctx: AddonContext, s: HostApiService): Promise<void> {
  await apiCall(ctx, 'POST', `/api/v1/namespaces/${s.namespace}/services`, {
    metadata: { name: s.service, namespace: s.namespace, labels: { 'k8s-app': s.service } },
    spec: { ports: [{ name: 'https', port: 443, targetPort: s.port, protocol: 'TCP' }] },
  });
  await apiCall(ctx, 'POST', `/apis/discovery.k8s.io/v1/namespaces/${s.namespace}/endpointslices`, {
    metadata: {
      name: `${s.service}-host`,
      namespace: s.namespace,
      labels: {
        'kubernetes.io/service-name': s.service,
        'endpointslice.kubernetes.io/managed-by': 'scanflow',
      },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ctx.bindIp], conditions: { ready: true } }],
    ports: [{ name: 'https', port: s.port, protocol: 'TCP' }],
  });
  await apiCall(ctx, 'POST', '/apis/apiregistration.k8s.io/v1/apiservices', {
    metadata: { name: `${s.version}.${s.group}` },
    spec: {
      service: { name: s.service, namespace: s.namespace, port: 443 },
      group: s.group,
      version: s.version,
      ...(s.caBundle ? { caBundle: s.caBundle.toString('base64') } : { insecureSkipTLSVerify: true }),
      groupPriorityMinimum: 100,
      versionPriority: 100,
    },
  });
  const path = s.servedPath ?? `/apis/${s.group}/${s.version}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await httpsRequest(`${ctx.server}${path}`, { token: ctx.adminToken, timeoutMs: 5_000 });
    if (res.status === 200) return;
    if (Date.now() > deadline)
      throw new Error(
        `${path} not served through the aggregation layer within 60 s (last: HTTP ${res.status} ${res.body.slice(0, 200)}); see the ${s.service} process's log and kube-apiserver.log`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * metrics-server on <bindIp>:<free port>, registered as v1beta1.metrics.k8s.io. Resolves once the
 * API server serves the group through the aggregation layer (node metrics appear one resolution
 * later, after the first scrape).
 */
export async function startMetricsServer(ctx: AddonContext, resolutionSeconds = 10): Promise<ManagedProcess> {
  const port = await freePort();
  const certDir = join(ctx.workDir, 'metrics-server');
  mkdirSync(certDir, { recursive: true });
  const p = await ManagedProcess.start({
    name: 'metrics-server',
    command: addonBinary('metrics-server'),
    args: [
      `--kubeconfig=${ctx.kubeconfigPath}`,
      `--authentication-kubeconfig=${ctx.kubeconfigPath}`,
      `--authorization-kubeconfig=${ctx.kubeconfigPath}`,
      `--bind-address=${ctx.bindIp}`,
      `--secure-port=${port}`,
      `--cert-dir=${certDir}`,
      // The kubelets serve self-signed certificates (no serving-cert signer in this cluster).
      '--kubelet-insecure-tls',
      '--kubelet-preferred-address-types=InternalIP',
      '--kubelet-use-node-status-port',
      `--metric-resolution=${resolutionSeconds}s`,
      // Must be shorter than the resolution.
      '--kubelet-request-timeout=5s',
      // KWOK's fake nodes have no kubelet to scrape.
      '--node-selector=scanflow.io/node-kind=real',
      '--v=1',
    ],
    logFile: join(ctx.logDir, 'metrics-server.log'),
    readyTimeoutMs: 60_000,
    ready: () => httpsAnswers(`https://${ctx.bindIp}:${port}/livez`),
  });
  try {
    // metrics-server's own self-signed serving certificate: not verified.
    await registerHostApiService(ctx, {
      namespace: 'kube-system',
      service: 'metrics-server',
      port,
      group: 'metrics.k8s.io',
      version: 'v1beta1',
      // The list the HPA controller and `kubectl top` read, not only the group's discovery.
      servedPath: '/apis/metrics.k8s.io/v1beta1/nodes',
    });
  } catch (err) {
    await p.stop(5_000);
    throw err;
  }
  return p;
}

/** CoreDNS serving the cluster domain from the API server on <bindIp>:53 (the kubelets' clusterDNS). */
export async function startClusterDns(ctx: AddonContext): Promise<ManagedProcess> {
  const dir = join(ctx.workDir, 'coredns');
  mkdirSync(dir, { recursive: true });
  const corefile = join(dir, 'Corefile');
  const healthPort = await freePort();
  writeFileSync(
    corefile,
    `${CLUSTER_DOMAIN}:53 in-addr.arpa:53 ip6.arpa:53 {
    bind ${ctx.bindIp}
    errors
    health 127.0.0.1:${healthPort}
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${ctx.kubeconfigPath}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
.:53 {
    bind ${ctx.bindIp}
    errors
    forward . /etc/resolv.conf
    cache 30
}
`,
  );
  const p = await ManagedProcess.start({
    name: 'coredns',
    command: addonBinary('coredns'),
    args: ['-conf', corefile],
    logFile: join(ctx.logDir, 'coredns.log'),
    readyTimeoutMs: 60_000,
    ready: async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${healthPort}/health`, { signal: AbortSignal.timeout(2_000) });
        if (!res.ok) return false;
      } catch {
        return false;
      }
      return true;
    },
  });
  return p;
}
