/**
 * What the MNIST case study needs on Kubernetes, on this machine:
 *   - the project's image (scripts/build-image) and a real-node cluster running it
 *     (src/platform/kubernetes/control-plane, queued behind another real-node cluster by
 *     SCANFLOW_NODES_WAIT_SECONDS), or a cluster that is already up (the test harness's);
 *   - the S3 server (versitygw) and the Temporal dev server, reachable from the pods at the node
 *     bridge's address (host-services.ts);
 *   - the namespace with deploy/rbac (Pod Security `restricted`, the platform's least-privilege
 *     ServiceAccount), the Secret `scanflow-s3` the model-server pods take their S3 keys from, and
 *     the platform worker Deployment of deploy/worker/workers.yaml (role kubernetes) running on a
 *     real node with that ServiceAccount;
 *   - Prometheus discovering and scraping the namespace's annotated pods (src/stack/kubernetes-prometheus.ts).
 * The agents' and ML workers run in the demo's own process (see demo-kubernetes.ts for why).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import protos from '@temporalio/proto';
import { searchAttributeFlags, TaskQueues } from '../../../agents/conventions.js';
import type { KnowledgeStoreConfig } from '../../../knowledge/types.js';
import { s3StoreConfig } from '../../../knowledge/s3-endpoint.js';
import { startControlPlane, type ControlPlane } from '../../../platform/kubernetes/control-plane/start.js';
import {
  startS3ForPods,
  startTemporalForPods,
  type PodReachableS3,
  type PodReachableTemporal,
} from '../../../platform/kubernetes/control-plane/host-services.js';
import {
  REAL_NODE_LABEL,
  realNodeNamespaceAnnotations,
} from '../../../platform/kubernetes/control-plane/real-nodes.js';
import { S3_SECRET } from '../../../serving/store-config.js';
import { startKubernetesPrometheus, type KubernetesPrometheus } from '../../../stack/kubernetes-prometheus.js';
import { waitFor } from '../../../stack/wait.js';
import { applyObjects, renderPlatformRbac, workerDeployment } from './workers.js';

export interface KubernetesStackOptions {
  /** State and logs of this run. */
  runDir: string;
  /** The Temporal dev server's database (the local demo's, so `npm run dev` shows the history). */
  temporalDb: string;
  temporalPort?: number;
  uiPort?: number;
  temporalNamespace: string;
  /** Where the workloads go (created, labelled Pod Security restricted). */
  namespace: string;
  /** Real nodes to start (default 2); ignored with `cluster`. */
  nodes?: number;
  /** A running real-node cluster to use instead of starting one: its kubeconfig and the image its nodes hold. */
  cluster?: { kubeconfigPath: string; image: string };
  log: (line: string) => void;
}

export interface KubernetesStack {
  kubeconfigPath: string;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  image: string;
  namespace: string;
  temporal: PodReachableTemporal;
  s3: PodReachableS3;
  /** The knowledge base on the S3 server, at the address pods use (this host reaches it there too). */
  storeConfig: KnowledgeStoreConfig;
  prometheus: KubernetesPrometheus;
  /** The platform worker's pod (its name is the host name in its Temporal identity). */
  platformWorkerPod: string;
  /** Seconds: image, cluster, platform worker polling. */
  timings: Record<string, number>;
  stop(): Promise<void>;
}

interface BuiltImage {
  ref: string;
  archive: string;
  bytes: number;
  seconds: number;
  cached: boolean;
}

const buildScript = fileURLToPath(new URL('../../../../scripts/build-image', import.meta.url));

/** scripts/build-image --json: this checkout's image, built or found in the cache by content. */
function buildImage(): Promise<BuiltImage> {
  return new Promise((resolve, reject) => {
    execFile('bash', [buildScript, '--json'], { maxBuffer: 16 * 1024 * 1024, timeout: 20 * 60_000 }, (err, out, e) => {
      if (err) return reject(new Error(`scripts/build-image failed: ${err.message}\n${String(e).slice(-2_000)}`));
      try {
        resolve(JSON.parse(String(out).trim().split('\n').pop() ?? '') as BuiltImage);
      } catch {
        reject(new Error(`scripts/build-image printed no JSON line: ${String(out).slice(-500)}`));
      }
    });
  });
}

const secs = (t: number): number => Math.round((Date.now() - t) / 100) / 10;

export async function startKubernetesStack(o: KubernetesStackOptions): Promise<KubernetesStack> {
  const logDir = join(o.runDir, 'logs');
  const timings: Record<string, number> = {};
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch((err: unknown) => o.log(`[demo] while stopping: ${String(err)}`));
    stops.length = 0;
  };
  try {
    let kubeconfigPath: string;
    let image: string;
    if (o.cluster) {
      ({ kubeconfigPath, image } = o.cluster);
    } else {
      let t = Date.now();
      const built = await buildImage();
      timings.image = secs(t);
      o.log(
        `[demo] image ${built.ref}: ${built.cached ? 'cached' : 'built'} (${(built.bytes / 1024 ** 2).toFixed(0)} MiB) in ${timings.image} s`,
      );
      t = Date.now();
      // A short state directory: the kubelets' unix sockets live under it (a path of at most 107 bytes).
      const stateDir = mkdtempSync(join(tmpdir(), 'scanflow-demo-k8s-'));
      stops.push(async () => rmSync(stateDir, { recursive: true, force: true }));
      const cluster: ControlPlane = await startControlPlane({
        workDir: stateDir,
        logDir,
        // No KWOK nodes: every pod of the demo runs in a container.
        nodes: [],
        realNodes: { count: o.nodes ?? 2, images: [built.archive] },
        log: (line) => o.log(`[demo] cluster: ${line}`),
      });
      stops.push(() => cluster.stop());
      timings.cluster = secs(t);
      kubeconfigPath = cluster.kubeconfigPath;
      image = built.ref;
      o.log(
        `[demo] cluster with ${cluster.realNodes?.nodes.length} real nodes in ${timings.cluster} s (KUBECONFIG=${kubeconfigPath})`,
      );
    }
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);

    const s3 = await startS3ForPods({
      dataDir: join(o.runDir, 's3'),
      logDir,
      accessKey: 'scanflow',
      secretKey: randomBytes(16).toString('hex'),
    });
    stops.push(() => s3.process.stop());
    const storeConfig: KnowledgeStoreConfig = s3StoreConfig(s3.endpoint, s3, 'scanflow');
    const temporal = await startTemporalForPods({
      dbFile: o.temporalDb,
      logDir,
      port: o.temporalPort,
      uiPort: o.uiPort,
      namespace: o.temporalNamespace,
      extraArgs: searchAttributeFlags(),
    });
    stops.push(() => temporal.stop());
    o.log(
      `[demo] Temporal ${temporal.address} (pods: ${temporal.podAddress}), Web UI ${temporal.uiUrl}; S3 ${s3.endpoint}`,
    );

    // The namespace as an administrator sets it up: deploy/rbac (Namespace labelled restricted,
    // ServiceAccount, Role, RoleBinding), pods sent to the real nodes, the S3 Secret.
    const { namespace } = o;
    // (One object per kind and name: a second apply by the same field manager would drop the first's fields.)
    const rbac = renderPlatformRbac(namespace).map((obj) =>
      obj.kind === 'Namespace'
        ? {
            ...obj,
            metadata: {
              ...obj.metadata,
              annotations: { ...obj.metadata?.annotations, ...realNodeNamespaceAnnotations() },
            },
          }
        : obj,
    );
    await applyObjects(kc, [
      ...rbac,
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: S3_SECRET, namespace },
        stringData: { endpoint: s3.endpoint, 'access-key': s3.accessKey, 'secret-key': s3.secretKey },
      } as never,
    ]);
    if (o.cluster) stops.push(() => core.deleteNamespace({ name: namespace }).then(() => undefined));
    await waitFor('the default ServiceAccount of the namespace', 60_000, async () =>
      core.readNamespacedServiceAccount({ name: 'default', namespace }).then(
        () => true,
        () => false,
      ),
    );

    let t = Date.now();
    await applyObjects(kc, [
      workerDeployment({
        which: 'platform',
        namespace,
        image,
        temporalAddress: temporal.podAddress,
        temporalNamespace: o.temporalNamespace,
        env: { SCANFLOW_LOG_LEVEL: 'WARN' },
      }),
    ]);
    const platformWorkerPod = await waitForPlatformWorker(temporal, core, namespace);
    timings.platformWorker = secs(t);
    o.log(
      `[demo] platform worker polling ${TaskQueues.kubernetes} from pod ${platformWorkerPod} (ServiceAccount scanflow-platform) after ${timings.platformWorker} s`,
    );

    t = Date.now();
    // Debian's Prometheus has no kubernetes_sd_configs: the discovery endpoint lists the
    // namespace's annotated pods (the model servers' OIP metrics, at their pod IPs, which this host
    // reaches through the node bridges) and the real nodes' cAdvisor.
    const prometheus = await startKubernetesPrometheus({
      kubeconfig: kubeconfigPath,
      namespaces: [namespace],
      nodeLabel: { name: REAL_NODE_LABEL, value: 'real' },
      dir: join(o.runDir, 'prometheus'),
      logDir,
    });
    stops.push(() => prometheus.stop());
    o.log(`[demo] Prometheus ${prometheus.url} discovering the pods of namespace ${namespace}`);

    return {
      kubeconfigPath,
      kc,
      core,
      apps,
      image,
      namespace,
      temporal,
      s3,
      storeConfig,
      prometheus,
      platformWorkerPod,
      timings,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The worker pod once it polls the kubernetes task queue (it bundles the workflow code first). */
async function waitForPlatformWorker(
  temporal: PodReachableTemporal,
  core: CoreV1Api,
  namespace: string,
): Promise<string> {
  const connection = await Connection.connect({ address: temporal.address });
  try {
    const client = new Client({ connection, namespace: temporal.namespace });
    let pod: string | undefined;
    let last = '';
    await waitFor('the platform worker pod to poll scanflow-kubernetes', 300_000, async () => {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: 'scanflow.io/worker-roles=kubernetes' });
      last = pods.items
        .map((p) => `${p.metadata?.name} ${p.status?.phase} ${JSON.stringify(p.status?.containerStatuses?.[0]?.state)}`)
        .join('; ');
      const d = await client.workflowService.describeTaskQueue({
        namespace: temporal.namespace,
        taskQueue: { name: TaskQueues.kubernetes },
        taskQueueType: protos.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      });
      pod = pods.items
        .map((p) => p.metadata?.name ?? '')
        .find((name) => d.pollers?.some((x) => x.identity?.endsWith(`@${name}`)));
      return pod !== undefined;
    }).catch((err: unknown) => {
      throw new Error(`${String(err)} (pods: ${last || 'none'})`);
    });
    return pod!;
  } finally {
    await connection.close();
  }
}
