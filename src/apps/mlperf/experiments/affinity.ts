/**
 * Fig. 10, anti-affinity: LoadGen Server users on the online service while the batch workflow's
 * Offline job (offline-job.ts: LoadGen Offline against the classifier in the pod) runs.
 *
 *   co-located  the baseline: the batch executor is placed on the online pod's node (pod affinity,
 *               as a bin-packing scheduler would do); measured for `phaseSeconds`;
 *   separated   then the anti-affinity agent runs: it sees p99 above its bound while a busy batch
 *               pod shares the online service's node, and sets anti-affinity of the batch executor
 *               vs the online workflow (later runs) and of the online service vs the batch workflow
 *               (updateOnlineWorkflowAffinity: the online pod moves to the other node); once moved,
 *               measured again for `phaseSeconds`, the same load still running.
 *
 * Measured per phase: Server p99 and completed queries/s (from LoadGen's answers), Offline
 * samples/s (from the batch pod's log); and the agent's decision.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { antiAffinityAgent, defaultMlperfAgentOptions } from '../agents.js';
import { BATCH_REF, MLPERF_APP, MLPERF_MODEL, MODEL_SERVER_SERVICE, OFFLINE_EXECUTOR, ONLINE_REF } from '../names.js';
import { batchInferenceWorkflow } from '../workloads.js';
import { RunningAgent, uiBaseOf, type AgentRecord } from './agent-run.js';
import { podReady, servicePods, waitFor } from './cluster-ops.js';
import type { ExperimentEnvironment } from './environment.js';
import { runServerLoad, type LoadRun } from './load.js';
import { deployOnline, loadAverage, removeOnline, SERVICE_OF_VERSION } from './online.js';

export interface AffinityOptions {
  users: number;
  qps: number;
  /** Seconds measured co-located, and again separated. */
  phaseSeconds: number;
  /** Seconds of load before the co-located measurement (the server's first queries are slow). */
  warmupSeconds: number;
  /** The agent's p99 bound (seconds). */
  p99Bound: number;
  onlineCpu: string;
  batchCpu: string;
  log: (line: string) => void;
}

export const defaultAffinityOptions: Omit<AffinityOptions, 'log'> = {
  users: 50,
  // Within what one pod serves on this shared machine when alone (~40 q/s at p99 ~0.5 s, load 20).
  qps: 25,
  phaseSeconds: 60,
  warmupSeconds: 30,
  // The server's own p99 (its histogram, what the agent reads): ~4 ms alone at low load, 8-23 ms
  // beside the Offline job (measured here at load 6-14); the client's p99 adds the network path.
  p99Bound: 0.006,
  onlineCpu: '300m',
  batchCpu: '500m',
};

export interface PhaseFigures {
  from: number;
  to: number;
  completedQps: number;
  p50Ms: number | null;
  p99Ms: number | null;
  failed: number;
  offlineSamplesPerSecond: number | null;
  /** The server's own p99 over the phase (its histogram in Prometheus, what the agent reads), ms. */
  serverP99Ms: number | null;
  onlineNodes: string[];
  batchNodes: string[];
}

export interface AffinityResult {
  options: Omit<AffinityOptions, 'log'>;
  loadAverage: { before: string; after: string };
  colocated: PhaseFigures;
  separated: PhaseFigures | null;
  /** Seconds from the agent's start to its action, and to the online pod Ready on the other node. */
  actedAfter: number | null;
  movedAfter: number | null;
  /** Per 5 s: p99 and completed queries/s of the Server, Offline samples/s (the chart's series). */
  series: Array<{ t: number; p99Ms: number | null; completedQps: number; offlineSamplesPerSecond: number | null }>;
  agent: AgentRecord;
  reason: string | null;
}

interface OfflineRound {
  at: number;
  samples: number;
  seconds: number;
  samplesPerSecond: number;
}

async function batchPods(env: ExperimentEnvironment) {
  const list = await env.core.listNamespacedPod({
    namespace: env.namespace,
    labelSelector: `workflow=${BATCH_REF.workflow}`,
  });
  return list.items.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
}

async function offlineRounds(env: ExperimentEnvironment, pod: string): Promise<OfflineRound[]> {
  const text = await env.core.readNamespacedPodLog({ name: pod, namespace: env.namespace });
  return String(text)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as OfflineRound);
}

function percentile(sorted: number[], p: number): number | null {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : null;
}

function offlineRate(rounds: OfflineRound[], fromMs: number, toMs: number): number | null {
  // Rounds that ended inside the window, weighted by their samples.
  const inside = rounds.filter((r) => r.at >= fromMs && r.at <= toMs && r.at - r.seconds * 1000 >= fromMs - 1000);
  const samples = inside.reduce((n, r) => n + r.samples, 0);
  const seconds = inside.reduce((n, r) => n + r.seconds, 0);
  return seconds > 0 ? Math.round(samples / seconds) : null;
}

function phase(
  run: LoadRun,
  rounds: OfflineRound[],
  from: number,
  to: number,
  nodes: { online: string[]; batch: string[] },
): PhaseFigures {
  const inside = run.records.filter((r) => r.at >= from && r.at < to);
  const ok = inside.filter((r) => r.service).map((r) => r.latencyMs);
  ok.sort((a, b) => a - b);
  const round1 = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
  return {
    from: Math.round(from),
    to: Math.round(to),
    completedQps: Math.round((ok.length / (to - from)) * 10) / 10,
    p50Ms: round1(percentile(ok, 0.5)),
    p99Ms: round1(percentile(ok, 0.99)),
    failed: inside.length - ok.length,
    offlineSamplesPerSecond: offlineRate(rounds, run.startedAt + from * 1000, run.startedAt + to * 1000),
    serverP99Ms: null,
    onlineNodes: nodes.online,
    batchNodes: nodes.batch,
  };
}

/** The model server's p99 from its histogram over [from, to) of the load (ms), from Prometheus. */
async function serverP99(env: ExperimentEnvironment, t0: number, from: number, to: number): Promise<number | null> {
  const seconds = Math.max(1, Math.round(to - from));
  const query = `histogram_quantile(0.99, sum by (le) (increase(scanflow_inference_request_duration_seconds_bucket{namespace="${env.namespace}",component="${MODEL_SERVER_SERVICE}"}[${seconds}s])))`;
  const url = `${env.prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}&time=${(t0 + to * 1000) / 1000}`;
  try {
    const body = (await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).json()) as {
      data?: { result?: Array<{ value: [number, string] }> };
    };
    const v = Number(body.data?.result?.[0]?.value[1]);
    return Number.isFinite(v) ? Math.round(v * 10_000) / 10 : null;
  } catch {
    return null;
  }
}

export async function runAffinityExperiment(env: ExperimentEnvironment, o: AffinityOptions): Promise<AffinityResult> {
  const { log, ...options } = o;
  const online = { ...ONLINE_REF };
  const url = await deployOnline(env, {
    replicas: 1,
    backup: false,
    resources: { requests: { cpu: o.onlineCpu, memory: '512Mi' }, limits: { memory: '1Gi' } },
  });
  // The batch workflow, its executor placed on the online pod's node (the co-located baseline, as
  // a bin-packing scheduler would place it). By node name, not by pod affinity: a pod affinity is
  // also met by a pod of the online workflow's last rollout that is still terminating.
  const [onlinePod] = (await servicePods(env.core, env.namespace, online, MODEL_SERVER_SERVICE)).pods.filter(podReady);
  const onlineNode = onlinePod?.spec?.nodeName;
  if (!onlineNode) throw new Error('anti-affinity: the online pod has no node');
  const spec = batchInferenceWorkflow({
    image: env.image.ref,
    resources: { requests: { cpu: o.batchCpu, memory: '512Mi' }, limits: { memory: '1Gi' } },
    affinity: { nodeSelector: { 'kubernetes.io/hostname': onlineNode } },
  });
  const total = 4 * o.phaseSeconds + 300;
  spec.executors[0]!.args = ['script', 'src/apps/mlperf/experiments/offline-job.ts', '--seconds', String(total)];
  await env.platform.applyBatchWorkflow(spec);
  const following = new AbortController();
  const runId = `r${Date.now().toString(36)}`;
  const job = env.platform
    .runExecutor(BATCH_REF, OFFLINE_EXECUTOR, runId, { signal: following.signal, pollMs: 2000 })
    .catch(() => undefined);
  const batchPod = await waitFor('the batch pod to report its first Offline round', 240_000, async () => {
    const pods = await batchPods(env);
    const p = pods[0];
    if (!p) return undefined;
    return (await offlineRounds(env, p.metadata!.name!)).length > 0 ? p : undefined;
  });
  const placement = async () => ({
    online: [
      ...new Set(
        (await servicePods(env.core, env.namespace, online, MODEL_SERVER_SERVICE)).pods
          .filter(podReady)
          .map((p) => p.spec?.nodeName ?? ''),
      ),
    ],
    batch: [...new Set((await batchPods(env)).map((p) => p.spec?.nodeName ?? ''))],
  });
  const colocatedNodes = await placement();
  log(
    `anti-affinity: online on ${colocatedNodes.online.join(',')}, batch pod ${batchPod.metadata!.name} on ${colocatedNodes.batch.join(',')} (co-located)`,
  );

  const before = await loadAverage();
  let agent: RunningAgent | undefined;
  let agentStartedAt = 0;
  let actedAt: number | null = null;
  let movedAt: number | null = null;
  let separatedNodes: { online: string[]; batch: string[] } | undefined;
  const stopLoad = new AbortController();
  let loadStart = Date.now();
  // The experiment's course, beside the load: co-located phase, the agent, the move, the separated phase.
  const course = (async () => {
    await sleep((o.warmupSeconds + o.phaseSeconds) * 1000);
    agentStartedAt = (Date.now() - loadStart) / 1000;
    agent = await RunningAgent.start(
      env.client,
      antiAffinityAgent({
        ...defaultMlperfAgentOptions,
        app: MLPERF_APP,
        online,
        batch: { ...BATCH_REF },
        servingSelector: `namespace="${env.namespace}",app="${online.app}",workflow="${online.workflow}",component="${MODEL_SERVER_SERVICE}"`,
        batchCpuSelector: `namespace="${env.namespace}",pod=~"${BATCH_REF.workflow}-.*"`,
        // cAdvisor's samples carry their own timestamps, ~12-14 s apart here: a rate needs a minute.
        window: '1m',
        antiAffinity: { p99Bound: o.p99Bound, minBatchCores: 0.2, sustain: 2, interval: '5s' },
      }),
      uiBaseOf(env.temporal),
    );
    log(`anti-affinity: agent ${agent.id} started at t=${agentStartedAt.toFixed(0)} s (p99 bound ${o.p99Bound} s)`);
    const deadline = Date.now() + Math.max(180_000, o.phaseSeconds * 2000);
    while (Date.now() < deadline) {
      if (actedAt === null && (await agent.acted()).length > 0) {
        actedAt = (Date.now() - loadStart) / 1000;
        log(`anti-affinity: the agent separated the workloads at t=${actedAt.toFixed(0)} s`);
      }
      if (actedAt !== null) {
        const p = await placement();
        const { pods } = await servicePods(env.core, env.namespace, online, MODEL_SERVER_SERVICE);
        const settled = pods.length > 0 && pods.every(podReady);
        if (settled && p.online.length > 0 && p.online.every((n) => !p.batch.includes(n))) {
          movedAt = (Date.now() - loadStart) / 1000;
          separatedNodes = p;
          log(
            `anti-affinity: online on ${p.online.join(',')}, batch on ${p.batch.join(',')} at t=${movedAt.toFixed(0)} s`,
          );
          break;
        }
      }
      await sleep(2000);
    }
    if (movedAt !== null) await sleep((o.warmupSeconds + o.phaseSeconds) * 1000);
    stopLoad.abort();
  })();
  let last = 0;
  const run = await runServerLoad({
    url,
    model: MLPERF_MODEL,
    users: o.users,
    steps: [{ qps: o.qps, seconds: total }],
    services: SERVICE_OF_VERSION,
    timeoutMs: 5_000,
    signal: stopLoad.signal,
    onSecond: (r) => {
      loadStart = r.startedAt;
      const t = (Date.now() - r.startedAt) / 1000;
      if (t - last < 10) return;
      last = t;
      const recent = r.records.filter((x) => x.at > t - 10 && x.service).map((x) => x.latencyMs);
      recent.sort((a, b) => a - b);
      log(
        `anti-affinity t=${t.toFixed(0)} s: ${(recent.length / 10).toFixed(0)} q/s, p99 ${percentile(recent, 0.99)?.toFixed(0) ?? '-'} ms`,
      );
    },
  });
  await course;
  const after = await loadAverage();
  const rounds = (await batchPods(env)).length ? await offlineRounds(env, batchPod.metadata!.name!) : [];
  const record = await (agent as RunningAgent | undefined)?.stop('anti-affinity experiment finished');
  following.abort();
  await env.platform.stopWorkflow(BATCH_REF).catch(() => undefined);
  await job;
  await removeOnline(env);

  const end = Math.max(...run.records.map((r) => r.at), 0);
  const colocated = phase(run, rounds, o.warmupSeconds, agentStartedAt, colocatedNodes);
  const separated = movedAt !== null && separatedNodes ? phase(run, rounds, movedAt + 5, end, separatedNodes) : null;
  const series: AffinityResult['series'] = [];
  for (let t = 0; t + 5 <= end; t += 5) {
    const lat = run.records.filter((r) => r.at >= t && r.at < t + 5 && r.service).map((r) => r.latencyMs);
    lat.sort((a, b) => a - b);
    const p99 = percentile(lat, 0.99);
    const round = rounds.find((r) => r.at - run.startedAt >= (t + 2.5) * 1000);
    series.push({
      t,
      p99Ms: p99 === null ? null : Math.round(p99),
      completedQps: lat.length / 5,
      offlineSamplesPerSecond: round ? round.samplesPerSecond : null,
    });
  }
  for (const p of [colocated, separated]) if (p) p.serverP99Ms = await serverP99(env, run.startedAt, p.from, p.to);
  const acted = record?.decisions.find((d) => d.outcome === 'acted');
  return {
    options,
    loadAverage: { before, after },
    colocated,
    separated,
    actedAfter: actedAt !== null ? Math.round((actedAt - agentStartedAt) * 10) / 10 : null,
    movedAfter: movedAt !== null ? Math.round((movedAt - agentStartedAt) * 10) / 10 : null,
    series,
    agent: record ?? { id: '', link: '', decisions: [] },
    reason: ((acted?.observed.interference as { reason?: string } | undefined)?.reason ?? null) as string | null,
  };
}
