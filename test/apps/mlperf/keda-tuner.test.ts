/**
 * The QoS tuner's keda-qps mode from scripted metric series (issue 12, Tests): a real Prometheus
 * (the harness's) scrapes two scripted model-server replicas every second, the tuner runs on the
 * real dev server with the app's real workers, reads the load's surge J with its one PromQL
 * subquery (mlperfLoadSurge), and sets the threshold of the service's KEDA ScaledObject on the
 * harness's KWOK control plane (updateWorkflowReplica), where it is asserted. The time scale is
 * shrunk (1 s scrapes, a 6 s reaction, a 40 s memory, 30 s of evidence before a raise); no timing
 * is asserted, only what the tuner decided and wrote.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentClient, type AgentHandle } from '../../../src/client/agents.js';
import type { Decision } from '../../../src/agents/messages.js';
import { defaultMlperfAgentOptions, kedaTunerAgent, kedaTunerOptions } from '../../../src/apps/mlperf/agents.js';
import type { KedaTunerDecision } from '../../../src/apps/mlperf/keda-tuner.js';
import { onlineInferenceWorkflow } from '../../../src/apps/mlperf/workloads.js';
import type { KubernetesPlatform } from '../../../src/platform/kubernetes/adapter.js';
import type { RunningWorkers } from '../../../workers/run.js';
import { installQuietRuntime, requireEnv } from '../../harness/env.js';
import { adminPlatform, freshNamespace, testCluster, waitFor } from '../../kubernetes/cluster.js';
import { scrapedUp, startAppWorkers } from './app-workers.js';
import { scrape, ScriptedMetrics } from './scripted-metrics.js';

jest.setTimeout(360_000);

const c = testCluster();
const prometheusUrl = requireEnv('SCANFLOW_TEST_PROMETHEUS_URL');
const prometheusConfig = requireEnv('SCANFLOW_TEST_PROMETHEUS_CONFIG');

describe('QoS tuner on KEDA (keda-qps) from scripted Prometheus series, the dev server and KWOK', () => {
  let workers: RunningWorkers;
  let ns: string;
  let p: KubernetesPlatform;
  let metrics: ScriptedMetrics;
  let restoreScrape: (() => Promise<void>) | undefined;
  let handle: AgentHandle | undefined;

  beforeAll(async () => {
    installQuietRuntime();
    ns = await freshNamespace(c, 'mlperf-keda');
    p = adminPlatform(c, ns);
    metrics = await ScriptedMetrics.start(2);
    restoreScrape = await scrape(prometheusUrl, prometheusConfig, [
      { job: 'mlperf-keda', targets: metrics.replicaTargets },
    ]);
    workers = await startAppWorkers(c, ns, { prometheusUrl, tmpPrefix: 'scanflow-mlperf-keda' });
    await scrapedUp(prometheusUrl, 'mlperf-keda', 2);
  });

  afterAll(async () => {
    await handle?.stop('test finished').catch(() => undefined);
    await workers?.shutdown();
    await restoreScrape?.();
    await metrics?.close();
  });

  it('holds a raise until the evidence spans raiseEvidenceSeconds, raises in bounded steps, holds on noise, lowers at once on a surge', async () => {
    const online = { app: 'mlperf', workflow: 'keda-tuned' };
    await p.deployWorkflow(
      onlineInferenceWorkflow({
        ...online,
        store: { kind: 'local', directory: '/data/knowledge' },
        replicas: 2,
        backup: false,
        autoscaling: {
          kind: 'keda',
          queriesPerReplica: 6.7,
          prometheus: prometheusUrl,
          minReplicas: 1,
          maxReplicas: 6,
        },
      }),
    );
    const objects = c.kc.makeApiClient(CustomObjectsApi);
    const threshold = async (): Promise<number> => {
      const so = (await objects.getNamespacedCustomObject({
        group: 'keda.sh',
        version: 'v1alpha1',
        namespace: ns,
        plural: 'scaledobjects',
        name: `${online.workflow}-model-server`,
      })) as { spec: { triggers: Array<{ metadata: { threshold: string } }> } };
      return Number(so.spec.triggers[0]!.metadata.threshold);
    };
    expect(await threshold()).toBe(6.7);

    // 10 queries/s per replica, 20 in all, flat. Requirement < 20 per replica: the target is 15.
    metrics.qps = () => 10;
    const o = kedaTunerOptions({ ...defaultMlperfAgentOptions, app: `mlperf-kt${Date.now().toString(36).slice(-4)}` });
    const spec = kedaTunerAgent({
      ...o,
      online,
      servingSelector: 'job="mlperf-keda"',
      window: '3s',
      replicaLabel: 'instance',
      surge: { floorQps: 20, stepSeconds: 1, since: Date.now() },
      tuner: {
        ...o.tuner,
        interval: '2s',
        reactionSeconds: 6,
        memorySeconds: 40,
        raiseEvidenceSeconds: 30,
        initialThreshold: 6.7,
      },
    });
    handle = await new AgentClient(workers.client).start(spec);
    const all = new Map<number, Decision>();
    const decisions = async () => {
      for (const d of await handle!.decisions()) all.set(d.seq, d);
      return [...all.values()].sort((a, b) => a.seq - b.seq);
    };
    const tunerOf = (d: Decision) => d.observed.tuner as KedaTunerDecision | undefined;
    const acted = async () => (await decisions()).filter((d) => d.outcome === 'acted');

    // Flat load: J ≈ 1 wants the target 15, but the evidence spans less than 30 s: no raise yet.
    const firstRaise = await waitFor(
      'the first raise',
      async () => (await acted()).find((d) => tunerOf(d)?.direction === 'raise'),
      120_000,
    );
    const raised = tunerOf(firstRaise)!;
    expect(raised).toMatchObject({ from: 6.7, threshold: 8, direction: 'raise' });
    expect(raised.surge!).toBeLessThan(1.3);
    expect(raised.evidenceSeconds).toBeGreaterThanOrEqual(30);
    const held = (await decisions()).filter(
      (d) => d.seq < firstRaise.seq && /no proof yet/.test(tunerOf(d)?.reason ?? ''),
    );
    expect(held.length).toBeGreaterThan(0);
    // The sensor's own record: the subquery, its result, the evidence within the agent's life.
    expect(firstRaise.observed.surge).toMatchObject({
      query: expect.stringContaining(
        'max_over_time((sum(rate(scanflow_inference_requests_total{job="mlperf-keda"}[3s]))',
      ),
      value: raised.surge,
    });
    expect(await threshold()).toBeGreaterThanOrEqual(8);

    // Raised in bounded steps (20 % each) up to within the HPA's tolerance of the target 15.
    await waitFor('the raises to stop near the target', async () => {
      const last = (await acted()).at(-1);
      const t = await threshold();
      return t >= 13.5 && last && tunerOf(last)!.threshold === t ? t : undefined;
    });
    const raises = (await acted()).map((d) => tunerOf(d)!);
    for (const r of raises) expect(r.threshold - r.from).toBeLessThanOrEqual(0.2 * r.from + 0.05);
    expect(raises.map((r) => r.direction).every((x) => x === 'raise')).toBe(true);

    // Noise: ±20 % around the level, J at most 24 / 20 = 1.2: nothing changes in 20 s.
    const noiseStart = Date.now();
    metrics.qps = () => 10 + 2 * Math.sin((Date.now() - noiseStart) / 700);
    const before = (await acted()).length;
    const atNoise = await threshold();
    await sleep(20_000);
    expect((await acted()).length).toBe(before);
    expect(await threshold()).toBe(atNoise);

    // A surge: 40 per replica, 80 in all, four times the load within the 6 s reaction: the tuner
    // lowers at once to 18 / J after the hold.
    metrics.qps = () => 40;
    const lowered = await waitFor(
      'the lower decision',
      async () => (await acted()).find((d) => tunerOf(d)?.direction === 'lower'),
      60_000,
    );
    const l = tunerOf(lowered)!;
    expect(l.surge!).toBeGreaterThan(2.5);
    expect(l.threshold).toBe(Math.max(1, Math.round((18 / l.surge!) * 10) / 10));
    expect(l.reason).toContain('at once');
    expect(lowered.actions.map((a) => a.action)).toEqual(['activity updateWorkflowReplica', 'activity scanflowLog']);
    await waitFor('the ScaledObject to carry the lowered threshold', async () =>
      (await threshold()) <= l.threshold ? true : undefined,
    );
    expect((await decisions()).filter((d) => d.outcome === 'failed')).toEqual([]);
  });
});
