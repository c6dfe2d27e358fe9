/**
 * The environment the MLPerf infrastructure experiments (Figs. 8–11) run in, all on this machine:
 *
 *   - the Temporal dev server on free ports (or the caller's server);
 *   - a real-node cluster (src/platform/kubernetes/control-plane): 2 real nodes, one CPU each,
 *     running the project's image (scripts/build-image), tainted so that only the experiment's
 *     namespace (annotated with the real nodes' selector and toleration) lands there;
 *   - a Prometheus scraping the namespace's model-server pods and the nodes' cAdvisor through the
 *     API server (src/stack/kubernetes-prometheus.ts), the series labelled as the agents select;
 *   - the workers (agents, kubernetes and ml roles, the mlperf app), the platform acting in the
 *     experiment's namespace, the sensors reading that Prometheus;
 *   - the model store (model-store.ts), mounted into the model-server pods.
 *
 * Only one real-node cluster runs on a machine at a time: the start queues behind another for
 * SCANFLOW_NODES_WAIT_SECONDS (the control plane's machine lock).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import type { ScanflowConfig } from '../../../config.js';
import { KubernetesPlatform } from '../../../platform/kubernetes/adapter.js';
import { startControlPlane, type ControlPlane } from '../../../platform/kubernetes/control-plane/start.js';
import { defaultFakeNodes } from '../../../platform/kubernetes/control-plane/nodes.js';
import { waitForDefaultServiceAccount } from '../../../platform/kubernetes/namespace-ready.js';
import {
  REAL_NODE_LABEL,
  realNodeNamespaceAnnotations,
} from '../../../platform/kubernetes/control-plane/real-nodes.js';
import { freePort } from '../../../stack/ports.js';
import { startKubernetesPrometheus } from '../../../stack/kubernetes-prometheus.js';
import type { RunningPrometheus } from '../../../stack/prometheus-server.js';
import { startTemporalDevServer, type RunningTemporal } from '../../../stack/temporal-server.js';
import { temporalSettingsFrom } from '../../../temporal/connection-options.js';
import type { RunningWorkers, startWorkers } from '../../../../workers/run.js';
import { buildProjectImage, type ProjectImage } from './image.js';
import { seedModelStore, type SeededStore } from './model-store.js';

export interface EnvironmentOptions {
  /** Where state, logs and Prometheus's data go. */
  runDir: string;
  /** The workers' assembly (workers/run.ts startWorkers): the caller owns the worker wiring. */
  start: typeof startWorkers;
  /**
   * A running real-node cluster to use instead of starting one (a test harness's): its kubeconfig
   * (an admin user with a bearer token), the project image's reference loaded on its nodes, and
   * the real nodes' names.
   */
  cluster?: { kubeconfig: string; image: string; nodes: string[] };
  /** The experiments' namespace (default mlperf); created, and deleted at stop when a cluster was given. */
  namespace?: string;
  /** A running Temporal server to use instead of starting one. */
  temporal?: { address: string; namespace: string; uiUrl: string };
  /** Memory of each real node (default 3 GiB). */
  nodeMemoryBytes?: number;
  /** .scanflow home (the MNIST demo's model cache is looked up there). */
  home: string;
  log: (line: string) => void;
}

export interface ExperimentEnvironment {
  runDir: string;
  namespace: string;
  kubeconfig: string;
  image: { ref: string };
  /** The cluster this environment started (undefined when the caller gave one). */
  cluster?: ControlPlane;
  core: CoreV1Api;
  platform: KubernetesPlatform;
  prometheus: RunningPrometheus;
  temporal: { address: string; namespace: string; uiUrl: string };
  workers: RunningWorkers;
  client: Client;
  store: SeededStore;
  /** The real nodes' names. */
  nodes: string[];
  stop(): Promise<void>;
}

export const EXPERIMENT_NAMESPACE = 'mlperf';

export async function startExperimentEnvironment(o: EnvironmentOptions): Promise<ExperimentEnvironment> {
  const log = o.log;
  mkdirSync(o.runDir, { recursive: true });
  const logDir = join(o.runDir, 'logs');
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => log(`cleanup: ${String(err)}`));
    cleanups.length = 0;
  };
  try {
    let temporal = o.temporal;
    if (!temporal) {
      const [port, uiPort] = [await freePort(), await freePort()];
      const server: RunningTemporal = await startTemporalDevServer({
        dbFile: join(o.runDir, 'temporal.db'),
        port,
        uiPort,
        logDir,
      });
      cleanups.push(() => server.process.stop());
      temporal = { address: server.address, namespace: server.namespace, uiUrl: server.uiUrl };
      log(`Temporal ${server.address}, Web UI ${server.uiUrl}`);
    }

    let image: { ref: string };
    let kubeconfig: string;
    let nodes: string[];
    let cluster: ControlPlane | undefined;
    if (o.cluster) {
      ({ kubeconfig, nodes } = o.cluster);
      image = { ref: o.cluster.image };
    } else {
      const t0 = Date.now();
      const built: ProjectImage = await buildProjectImage(log);
      log(`image ${built.ref}: ${built.cached ? 'cached' : 'built'} in ${built.seconds} s`);
      const started = await startControlPlane({
        workDir: join(o.runDir, 'cluster'),
        logDir,
        // KWOK's fake nodes stay (the control plane expects them) but take no experiment pod.
        nodes: defaultFakeNodes().map((n) => ({
          ...n,
          taints: [{ key: 'kwok.x-k8s.io/node', value: 'fake', effect: 'NoSchedule' }],
        })),
        realNodes: {
          count: 2,
          images: [built.archive],
          memoryBytes: o.nodeMemoryBytes ?? 3 * 1024 ** 3,
          taint: true,
        },
        log: (line) => log(`cluster: ${line}`),
      });
      cleanups.push(() => started.stop());
      cluster = started;
      image = built;
      kubeconfig = started.kubeconfigPath;
      nodes = (started.realNodes?.nodes ?? []).map((n) => n.name);
      log(`cluster with real nodes ${nodes.join(', ')} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }

    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = o.namespace ?? EXPERIMENT_NAMESPACE;
    await core.createNamespace({
      body: { metadata: { name: namespace, annotations: realNodeNamespaceAnnotations() } },
    });
    if (o.cluster)
      cleanups.push(() => core.deleteNamespace({ name: namespace, gracePeriodSeconds: 0 }).catch(() => undefined));
    await waitForDefaultServiceAccount(core, namespace);
    // Prometheus: pods and cAdvisor through the API server, as the admin of this throwaway cluster.
    const prom = await startKubernetesPrometheus({
      kubeconfig,
      namespaces: [namespace],
      nodeLabel: { name: REAL_NODE_LABEL, value: 'real' },
      dir: o.runDir,
      logDir,
    });
    cleanups.push(() => prom.stop());
    const prometheus = prom.prometheus;
    log(`Prometheus ${prometheus.url} (pods of ${namespace} and the nodes' cAdvisor, every 2 s)`);

    const store = await seedModelStore(o.home);
    cleanups.push(async () => rmSync(store.directory, { recursive: true, force: true }));
    log(`model store ${store.directory}: mnist-classifier v1 (primary) and v2 (backup), weights ${store.weights}`);

    // The sensors read SCANFLOW_PROMETHEUS_URL when the workers create their activities.
    process.env.SCANFLOW_PROMETHEUS_URL = prometheus.url;
    const config: ScanflowConfig = {
      home: o.runDir,
      temporal: temporalSettingsFrom(
        { TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: temporal.namespace },
        Number(new URL(temporal.uiUrl).port) || 8233,
      ),
      knowledge: { kind: 'local', directory: store.directory },
      platform: { kind: 'kubernetes', kubeconfig, namespace },
    };
    const workers = await o.start({ config, roles: ['agents', 'kubernetes', 'ml'], logLevel: 'WARN' });
    cleanups.push(() => workers.shutdown());
    log(`workers polling ${workers.queues.join(', ')}`);

    return {
      runDir: o.runDir,
      namespace,
      kubeconfig,
      image,
      ...(cluster ? { cluster } : {}),
      core,
      platform: new KubernetesPlatform({ namespace, kubeconfigPath: kubeconfig }),
      prometheus,
      temporal,
      workers,
      client: workers.client,
      store,
      nodes,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
