/**
 * KEDA acts on the ScaledObject the platform writes, on real nodes: the operator and the external
 * metrics adapter built from github.com/kedacore/keda/v2 (scripts/provision-keda, started with the
 * cluster by src/platform/kubernetes/control-plane/keda.ts) turn a service deployed with
 * `autoscaling: { kind: 'keda' }` into an HPA that KEDA owns, whose metric is a Prometheus query
 * (a real Prometheus scraping the model-server pods, found through the Kubernetes API) read by
 * kube-controller-manager through external.metrics.k8s.io. Under the project's LoadGen (Server
 * scenario) the model server scales from 1 to 2 pods; when the load stops it falls back to 1; and
 * updateWorkflowReplica's new threshold and maximum reach the HPA that KEDA owns. The scale-up
 * times are printed as figures (bench/nodes.ts collects them), not asserted.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { AutoscalingV2Api, KubeConfig, type V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { METRIC_NAMES } from '../../src/activities/metrics/promql.js';
import { HttpOipSut, resolveSettings, runLoadgen, SyntheticQsl, type SegmentResult } from '../../src/loadgen/index.js';
import { KubernetesPlatform } from '../../src/platform/kubernetes/adapter.js';
import { quantityValue } from '../../src/platform/kubernetes/control-plane/quantity.js';
import { componentLabels, selectorOf, serviceObjectName } from '../../src/platform/names.js';
import type { WorkflowRef } from '../../src/platform/types.js';
import { startKubernetesPrometheus, type KubernetesPrometheus } from '../../src/stack/kubernetes-prometheus.js';
import { describePods, kubectl, loadAverage, mountStore, podReady, waitFor } from './support.js';
import { nodesSuite } from './suite.js';

const ref: WorkflowRef = { app: 'keda', workflow: 'serving' };
const SERVICE = 'model-server';
/** Answered requests/s per replica that KEDA's HPA aims at; LoadGen sends 3 times that. */
const THRESHOLD = 8;
const LOAD_QPS = 24;

describe('KEDA scales the model server on real nodes (operator + external metrics adapter + Prometheus)', () => {
  let prom: KubernetesPrometheus | undefined;
  let promDir: string | undefined;
  const suite = nodesSuite('nodes-keda', {
    realNodes: true,
    modelVersions: 1,
    cleanup: async () => {
      await prom?.stop();
      if (promDir) rmSync(promDir, { recursive: true, force: true });
    },
  });
  const name = serviceObjectName(ref, SERVICE);
  const hpaName = `keda-hpa-${name}`;
  let hpaApi: AutoscalingV2Api;
  let platform: KubernetesPlatform;

  beforeAll(async () => {
    const { c, ns } = suite;
    const kc = new KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    hpaApi = kc.makeApiClient(AutoscalingV2Api);
    // KEDA runs when it was provisioned; a cluster without it cannot pass this suite: say why.
    const served = await kubectl(c, ['get', '--raw', '/apis/external.metrics.k8s.io/v1beta1']).catch(
      (err: unknown) => `${String(err)}`,
    );
    if (!served.includes('external.metrics.k8s.io'))
      throw new Error(
        `KEDA's metrics adapter does not serve external.metrics.k8s.io in the test cluster (run 'bash scripts/provision-keda', then the suite again): ${served.slice(0, 300)}`,
      );
    promDir = mkdtempSync(join(tmpdir(), 'scanflow-keda-prom-'));
    prom = await startKubernetesPrometheus({ kubeconfig: c.kubeconfig, namespaces: [ns], dir: promDir });
    platform = new KubernetesPlatform({ namespace: ns, kubeconfigPath: c.kubeconfig });
  }, 120_000);

  const readHpa = async (): Promise<V2HorizontalPodAutoscaler | undefined> => {
    try {
      return await hpaApi.readNamespacedHorizontalPodAutoscaler({ name: hpaName, namespace: suite.ns });
    } catch {
      return undefined;
    }
  };
  const target = (h: V2HorizontalPodAutoscaler | undefined): number | undefined => {
    const v = h?.spec?.metrics?.[0]?.external?.target?.averageValue;
    return v === undefined ? undefined : quantityValue(String(v), `HPA ${hpaName} averageValue`);
  };
  /** The pods of the service once exactly `count` exist, all Ready and none terminating. */
  const exactlyReady = async (count: number): Promise<string[] | undefined> => {
    const { c, ns } = suite;
    const list = await c.core.listNamespacedPod({
      namespace: ns,
      labelSelector: selectorOf(componentLabels(ref, SERVICE)),
    });
    // No terminating pod either: mounting the store rolls the first pod over, and a pod draining
    // its connections still answers (then resets them when it exits), which the load must not meet.
    const live = list.items.filter((p) => !p.metadata?.deletionTimestamp);
    return list.items.length === count && live.every(podReady) ? live.map((p) => p.metadata!.name!) : undefined;
  };

  it("creates the HPA it owns from the platform's ScaledObject, scales 1 → 2 under LoadGen load and back to 1 after it", async () => {
    const { c, ns, storeDir } = suite;
    // Answered inference requests/s of the service's pods, as Prometheus scrapes them (2 s).
    const query = `sum(rate(${METRIC_NAMES.requests}{namespace="${ns}",component="${SERVICE}"}[20s])) or vector(0)`;
    await platform.deployWorkflow({
      ...ref,
      services: [
        {
          name: SERVICE,
          image: c.info.image.ref,
          args: ['serve', '--store', '/store', '--model', 'mnist', '--host', '0.0.0.0', '--port', '8080', '--no-log'],
          port: 8080,
          replicas: 1,
          readinessPath: '/v2/health/ready',
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': '8080',
            'prometheus.io/path': '/metrics',
          },
          resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
          affinity: {
            antiAffinity: [{ matchLabels: componentLabels(ref, SERVICE), mode: 'preferred', weight: 100 }],
          },
          autoscaling: {
            kind: 'keda',
            minReplicas: 1,
            maxReplicas: 2,
            prometheus: { serverAddress: prom!.url, query, threshold: THRESHOLD },
            pollingIntervalSeconds: 5,
            cooldownPeriodSeconds: 30,
          },
        },
      ],
    });
    // The HPA's default scale-down stabilization is 5 minutes; the test shortens it through the
    // ScaledObject's own field for it (the platform writes none), which KEDA copies into its HPA.
    await kubectl(c, [
      'patch',
      'scaledobject.keda.sh',
      name,
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({
        spec: {
          advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 5 } } } },
        },
      }),
    ]);
    await mountStore(c, ns, name, storeDir);
    await waitFor('1 Ready model-server pod', 180_000, () => exactlyReady(1)).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\n${await describePods(c, ns)}`);
    });

    // KEDA's side: the ScaledObject Ready, the HPA it owns (external metric, the threshold as target).
    const so = await waitFor('the ScaledObject to be Ready (KEDA operator)', 90_000, async () => {
      const o = JSON.parse(await kubectl(c, ['get', 'scaledobject.keda.sh', name, '-n', ns, '-o', 'json'])) as {
        status?: { conditions?: Array<{ type: string; status: string; message?: string }> };
      };
      return o.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ? o : undefined;
    });
    const hpa = await waitFor(`the HPA ${hpaName} that KEDA creates`, 60_000, readHpa);
    expect(hpa.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ScaledObject', name });
    expect(hpa.spec?.scaleTargetRef).toMatchObject({ kind: 'Deployment', name });
    expect(hpa.spec?.metrics?.[0]?.type).toBe('External');
    expect(target(hpa)).toBe(THRESHOLD);
    expect(hpa.spec?.behavior?.scaleDown?.stabilizationWindowSeconds).toBe(5);
    // The metric pipeline end to end: the HPA controller reads a value through the adapter.
    await waitFor('the HPA to read the external metric (adapter → operator → Prometheus)', 120_000, async () => {
      const h = await readHpa();
      return h?.status?.currentMetrics?.[0]?.external?.current ? h : undefined;
    });

    // Load from the project's LoadGen (Server scenario, Poisson arrivals) at 3x the per-replica target.
    const svc = await c.core.readNamespacedService({ name: ref.workflow, namespace: ns });
    const qsl = new SyntheticQsl(64);
    const sut = new HttpOipSut({ url: `http://${svc.spec?.clusterIP}:8080`, model: 'mnist', qsl });
    const settings = resolveSettings({
      scenario: 'Server',
      targetQps: LOAD_QPS,
      targetLatencyNs: 200_000_000,
      minDurationMs: 240_000,
      maxDurationMs: 300_000,
      minQueryCount: 1,
      performanceSampleCount: 64,
    });
    const abort = new AbortController();
    const t0 = Date.now();
    const loadRun: Promise<SegmentResult> = runLoadgen({ settings, sut, qsl, signal: abort.signal });
    let decidedAt = 0;
    let peak = 0;
    let run: SegmentResult;
    try {
      await waitFor(
        "KEDA's HPA to scale the model server to 2 Ready pods",
        240_000,
        async () => {
          const h = await readHpa();
          const v = h?.status?.currentMetrics?.[0]?.external?.current?.averageValue;
          if (v !== undefined) peak = Math.max(peak, quantityValue(String(v), `HPA ${hpaName} currentMetrics`));
          if (!decidedAt && (h?.status?.desiredReplicas ?? 0) >= 2) decidedAt = Date.now();
          return decidedAt ? exactlyReady(2) : undefined;
        },
        500,
      );
    } finally {
      abort.abort();
      run = await loadRun;
      await sut.close();
    }
    const readyAt = Date.now();
    const answered = run.log.completedNs.filter((t, i) => t >= 0 && run.log.ok[i] === 1).length;
    // Queries in flight when the run was cancelled end as 'cancelled': not failures of the service.
    const failed = Object.entries(run.log.errors)
      .filter(([m]) => m !== 'cancelled')
      .reduce((n, [, k]) => n + k, 0);
    const pods = await c.core.listNamespacedPod({
      namespace: ns,
      labelSelector: selectorOf(componentLabels(ref, SERVICE)),
    });
    const nodes = new Set(pods.items.map((p) => p.spec?.nodeName));

    // Load stopped: the rate falls to 0 within the 20 s window, the HPA scales back to minReplicas.
    const t1 = Date.now();
    await waitFor("KEDA's HPA to scale back to 1 pod after the load", 240_000, async () => {
      const h = await readHpa();
      return h?.status?.desiredReplicas === 1 ? exactlyReady(1) : undefined;
    });
    const downAt = Date.now();
    process.stderr.write(
      `[nodes] KEDA (Prometheus trigger, target ${THRESHOLD} req/s per pod, scrape 2 s, rate over 20 s, HPA sync 5 s): LoadGen Server ${LOAD_QPS} QPS (${(answered / ((readyAt - t0) / 1000)).toFixed(1)} answered/s, ${failed} failed, peak metric ${peak.toFixed(1)} req/s per pod) desired 2 after ${((decidedAt - t0) / 1000).toFixed(1)} s, 2 pods Ready on ${nodes.size} node(s) after ${((readyAt - t0) / 1000).toFixed(1)} s; back to 1 pod ${((downAt - t1) / 1000).toFixed(1)} s after the load stopped (scale-down window 5 s); ScaledObject Ready: ${JSON.stringify(so.status?.conditions?.find((x) => x.type === 'Ready')?.message ?? '')} (load avg ${loadAverage()})\n`,
    );
    expect(decidedAt).toBeGreaterThan(0);
    expect(answered).toBeGreaterThan(0);
    expect(failed).toBe(0);
  }, 900_000);

  it('updateWorkflowReplica: the new threshold and maximum reach the HPA that KEDA owns', async () => {
    const before = await readHpa();
    expect(target(before)).toBe(THRESHOLD);
    await platform.updateWorkflowReplica(ref, SERVICE, { threshold: 12.5, maxReplicas: 3 });
    const after = await waitFor('KEDA to rewrite its HPA with the new threshold', 60_000, async () => {
      const h = await readHpa();
      return target(h) === 12.5 && h?.spec?.maxReplicas === 3 ? h : undefined;
    });
    expect(after.spec?.minReplicas).toBe(1);
    expect(after.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ScaledObject', name });
    // The shortened scale-down window set on the ScaledObject survives the platform's re-apply.
    expect(after.spec?.behavior?.scaleDown?.stabilizationWindowSeconds).toBe(5);
  }, 120_000);
});
