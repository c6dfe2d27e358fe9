/**
 * KEDA on a real-node cluster: its operator and its metrics adapter, the Go programs of
 * github.com/kedacore/keda/v2 (cmd/operator, cmd/adapter) that scripts/provision-keda builds, run
 * as host processes beside the control plane like metrics-server (addons.ts):
 *
 *   keda-operator  watches ScaledObjects (all namespaces), creates and owns one HPA per
 *                  ScaledObject (keda-hpa-<name>) whose metric is external, polls the triggers
 *                  (e.g. a Prometheus query) and serves their values over gRPC (mutual TLS).
 *   keda-adapter   the external.metrics.k8s.io API server, registered through the aggregation layer
 *                  as v1beta1.external.metrics.k8s.io: the HPA controller of kube-controller-manager
 *                  asks it for the metric, it asks the operator over gRPC.
 *
 * Out of cluster the in-cluster defaults do not apply, so they are given: the kubeconfig
 * (KUBECONFIG), the namespace KEDA's own objects live in (KEDA_CLUSTER_OBJECT_NAMESPACE,
 * POD_NAMESPACE: otherwise read from a ServiceAccount file that a host process does not have),
 * every namespace watched (WATCH_NAMESPACE=""), no leader election (one operator), every port on
 * the bridge address, and the operator's gRPC address for the adapter (--metrics-service-address;
 * in cluster a Service name). The gRPC certificates (ca.crt, tls.crt, tls.key in one directory,
 * read by both) are made here, with the bridge address in the certificate, so KEDA's own
 * certificate rotation (which writes Secrets and patches webhooks) stays off. KEDA's admission
 * webhooks (cmd/webhooks) are not run: they only validate ScaledObjects at admission (e.g. two
 * ScaledObjects on one Deployment), which nothing here relies on; the CRDs' schemas still apply.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../../../stack/binaries.js';
import { freePort } from '../../../stack/ports.js';
import { httpOk, ManagedProcess } from '../../../stack/process.js';
import { apiCall, registerHostApiService, type AddonContext } from './addons.js';
import { exists, httpsAnswers } from './host.js';
import { createCa, issueCertificate } from './pki.js';

export const KEDA_NAMESPACE = 'keda';
export const KEDA_EXTERNAL_METRICS_API = 'v1beta1.external.metrics.k8s.io';

export const kedaBinary = (name: 'keda-operator' | 'keda-adapter'): string => join(cacheDir(), 'bin', name);

/** What is missing for KEDA, each with the command that provisions it (empty: KEDA can start). */
export function missingKeda(): string[] {
  return (['keda-operator', 'keda-adapter'] as const)
    .filter((b) => !exists(kedaBinary(b)))
    .map((b) => `'${b}' is missing from ${join(cacheDir(), 'bin')}: run 'bash scripts/provision-keda'`);
}

export interface RunningKeda {
  operator: ManagedProcess;
  adapter: ManagedProcess;
  /** host:port of the operator's gRPC metrics service. */
  metricsService: string;
  seconds: number;
}

/**
 * The operator and the adapter, the adapter registered as v1beta1.external.metrics.k8s.io.
 * Resolves once the operator answers /readyz and the API server serves external.metrics.k8s.io
 * through the aggregation layer. The CRDs (deploy/crds/keda.sh_*, eventing.keda.sh_*) must be
 * installed first: the operator exits when a kind it watches is unknown.
 */
export async function startKeda(ctx: AddonContext): Promise<RunningKeda> {
  const missing = missingKeda();
  if (missing.length > 0) throw new Error(`KEDA cannot start:\n  - ${missing.join('\n  - ')}`);
  const t0 = Date.now();
  const dir = join(ctx.workDir, 'keda');
  const certDir = join(dir, 'certs');
  await kedaCertificates(certDir, ctx.bindIp);
  await apiCall(ctx, 'POST', '/api/v1/namespaces', { metadata: { name: KEDA_NAMESPACE } });
  const grpcPort = await freePort();
  const metricsPort = await freePort();
  const probePort = await freePort();
  const adapterPort = await freePort();
  const adapterMetricsPort = await freePort();
  const metricsService = `${ctx.bindIp}:${grpcPort}`;
  const env = {
    KUBECONFIG: ctx.kubeconfigPath,
    WATCH_NAMESPACE: '',
    POD_NAMESPACE: KEDA_NAMESPACE,
    KEDA_CLUSTER_OBJECT_NAMESPACE: KEDA_NAMESPACE,
  };
  const started: ManagedProcess[] = [];
  try {
    const [operator, adapter] = await Promise.all([
      ManagedProcess.start({
        name: 'keda-operator',
        command: kedaBinary('keda-operator'),
        args: [
          '--leader-elect=false',
          `--metrics-bind-address=${ctx.bindIp}:${metricsPort}`,
          `--health-probe-bind-address=${ctx.bindIp}:${probePort}`,
          `--metrics-service-bind-address=${metricsService}`,
          `--cert-dir=${certDir}`,
          '--enable-cert-rotation=false',
          '--zap-encoder=console',
          '--zap-log-level=info',
        ],
        env,
        logFile: join(ctx.logDir, 'keda-operator.log'),
        readyTimeoutMs: 90_000,
        ready: () => httpOk(`http://${ctx.bindIp}:${probePort}/readyz`),
      }).then((p) => (started.push(p), p)),
      ManagedProcess.start({
        name: 'keda-adapter',
        command: kedaBinary('keda-adapter'),
        args: [
          `--lister-kubeconfig=${ctx.kubeconfigPath}`,
          `--authentication-kubeconfig=${ctx.kubeconfigPath}`,
          `--authorization-kubeconfig=${ctx.kubeconfigPath}`,
          `--bind-address=${ctx.bindIp}`,
          `--secure-port=${adapterPort}`,
          // The gRPC client reads ca.crt, tls.crt, tls.key from --cert-dir; the same pair serves HTTPS.
          `--cert-dir=${certDir}`,
          `--tls-cert-file=${join(certDir, 'tls.crt')}`,
          `--tls-private-key-file=${join(certDir, 'tls.key')}`,
          `--metrics-service-address=${metricsService}`,
          // Its own /metrics listens on every address (no flag for the host): a free port at least.
          `--port=${adapterMetricsPort}`,
          '--zap-encoder=console',
        ],
        env,
        logFile: join(ctx.logDir, 'keda-adapter.log'),
        readyTimeoutMs: 90_000,
        ready: () => httpsAnswers(`https://${ctx.bindIp}:${adapterPort}/readyz`),
      }).then((p) => (started.push(p), p)),
    ]);
    await registerHostApiService(ctx, {
      namespace: KEDA_NAMESPACE,
      service: 'keda-metrics-apiserver',
      port: adapterPort,
      group: 'external.metrics.k8s.io',
      version: 'v1beta1',
      caBundle: readFileSync(join(certDir, 'ca.crt')),
    });
    return { operator, adapter, metricsService, seconds: (Date.now() - t0) / 1000 };
  } catch (err) {
    await Promise.all(started.map((p) => p.stop(5_000)));
    // An APIService with no server behind it breaks discovery, and with it namespace deletion.
    await apiCall(ctx, 'DELETE', `/apis/apiregistration.k8s.io/v1/apiservices/${KEDA_EXTERNAL_METRICS_API}`).catch(
      () => undefined,
    );
    throw err;
  }
}

/**
 * A CA and one certificate for both ends of KEDA's gRPC link and the adapter's HTTPS: the bridge
 * address and the in-cluster names as subject alternative names, server and client use.
 */
async function kedaCertificates(dir: string, ip: string): Promise<void> {
  const names = ['keda-operator', 'keda-metrics-apiserver'].flatMap((service) => [
    `DNS:${service}.${KEDA_NAMESPACE}.svc`,
    `DNS:${service}.${KEDA_NAMESPACE}.svc.cluster.local`,
  ]);
  await createCa(dir, '/O=KEDAORG/CN=KEDA');
  await issueCertificate(dir, 'tls', '/CN=keda-operator', [
    `subjectAltName=${[`IP:${ip}`, ...names].join(',')}`,
    'extendedKeyUsage=serverAuth,clientAuth',
    'keyUsage=digitalSignature,keyEncipherment',
  ]);
}
