/**
 * Figs. 8–9, autoscaling to a QoS requirement: the model server under a load that rises and
 * falls (LoadGen Server, `users` clients), autoscaled by a real HPA (kube-controller-manager, pod
 * CPU from metrics-server) on CPU utilisation. Baseline (Fig. 8): the data engineer's fixed
 * thresholds, one run each. Agent (Fig. 9): the qos-tuner agent reads queries/s per replica from
 * Prometheus and moves the HPA's threshold at run time (updateWorkflowReplica) to keep the end
 * user's requirement "answered queries/s per replica < qos".
 *
 * Per 10 s window: offered load, answered queries/s, ready replicas, queries/s per replica against
 * the requirement, p99. Per setting: share of windows meeting the requirement, replica-seconds,
 * time from the first load step up to the first added replica being Ready.
 *
 * The HPA's scale-down stabilisation is 30 s here (Kubernetes' default 300 s would keep every
 * replica to the end of a run of minutes), the same for every setting: set with its own field
 * manager, so the platform's and the tuner's updates keep it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultMlperfAgentOptions, qosTunerAgent } from '../agents.js';
import { MLPERF_APP, MLPERF_MODEL, MODEL_SERVER_SERVICE, ONLINE_REF } from '../names.js';
import { FIELD_MANAGER, NamespacedObjects } from '../../../platform/kubernetes/objects.js';
import { loadKubeConfig, makeClients } from '../../../platform/kubernetes/client.js';
import { serviceObjectName } from '../../../platform/names.js';
import { RunningAgent, uiBaseOf, type AgentRecord } from './agent-run.js';
import { servicePods } from './cluster-ops.js';
import type { ExperimentEnvironment } from './environment.js';
import { offeredAt, runServerLoad, type LoadRun, type LoadStep } from './load.js';
import { deployOnline, loadAverage, removeOnline, SERVICE_OF_VERSION } from './online.js';

export interface AutoscalingOptions {
  users: number;
  /** Seconds of each run. */
  duration: number;
  /** Highest offered queries/s of the profile. */
  peakQps: number;
  /** The requirement: answered queries/s per replica < qos. */
  qos: number;
  /** The baseline's CPU-utilisation thresholds (%), one run each. */
  thresholds: number[];
  /** The tuner's starting threshold and bounds (%). */
  initialThreshold: number;
  minThreshold: number;
  maxThreshold: number;
  maxReplicas: number;
  /** CPU request of a replica (utilisation is relative to it) and its limit. */
  cpuRequest: string;
  cpuLimit: string;
  tunerInterval: string;
  scaleDownStabilizationSeconds: number;
  log: (line: string) => void;
}

export const defaultAutoscalingOptions: Omit<AutoscalingOptions, 'log'> = {
  users: 100,
  duration: 240,
  peakQps: 100,
  qos: 20,
  thresholds: [20, 50, 80],
  initialThreshold: 50,
  minThreshold: 10,
  maxThreshold: 90,
  maxReplicas: 6,
  cpuRequest: '100m',
  cpuLimit: '500m',
  tunerInterval: '10s',
  scaleDownStabilizationSeconds: 30,
};

/** The profile: low, rising, peak, falling, low (fractions of the duration and of the peak). */
export function loadProfile(duration: number, peak: number): LoadStep[] {
  const parts: Array<[number, number]> = [
    [0.2, 0.2],
    [0.2, 0.6],
    [0.25, 1],
    [0.15, 0.6],
    [0.2, 0.2],
  ];
  return parts.map(([share, level]) => ({
    seconds: Math.round(duration * share),
    qps: Math.max(1, Math.round(peak * level)),
  }));
}

export interface Window {
  /** Window start (s since the load started). */
  t: number;
  offered: number;
  answered: number;
  failed: number;
  replicas: number;
  qpsPerReplica: number;
  p99: number | null;
  met: boolean;
}

export interface SettingResult {
  /** "HPA 50 %" or "agent". */
  setting: string;
  kind: 'threshold' | 'agent';
  threshold: number;
  windows: Window[];
  metShare: number;
  replicaSeconds: number;
  /** Seconds from the first load step up to the first added replica Ready (null: none). */
  reactionSeconds: number | null;
  answered: number;
  failed: number;
  loadAverage: { before: string; after: string };
  /** The thresholds the HPA had over the run (agent: as tuned). */
  thresholdTrace: Array<{ t: number; threshold: number; replicas: number; desired: number }>;
}

export interface AutoscalingResult {
  options: Omit<AutoscalingOptions, 'log'>;
  profile: LoadStep[];
  settings: SettingResult[];
  agent: AgentRecord;
}

const WINDOW = 10;

function windows(run: LoadRun, trace: SettingResult['thresholdTrace'], qos: number, duration: number): Window[] {
  const out: Window[] = [];
  for (let t = 0; t + WINDOW <= duration; t += WINDOW) {
    const inside = run.records.filter((r) => r.at >= t && r.at < t + WINDOW);
    const ok = inside.filter((r) => r.service);
    const samples = trace.filter((s) => s.t >= t && s.t < t + WINDOW);
    const replicas = samples.length ? samples.reduce((n, s) => n + s.replicas, 0) / samples.length : 0;
    const answered = ok.length / WINDOW;
    const sorted = ok.map((r) => r.latencyMs).sort((a, b) => a - b);
    const p99 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))]! : null;
    const qpsPerReplica = replicas > 0 ? answered / replicas : answered;
    out.push({
      t,
      offered: offeredAt(run, t + WINDOW / 2),
      answered: Math.round(answered * 10) / 10,
      failed: inside.length - ok.length,
      replicas: Math.round(replicas * 100) / 100,
      qpsPerReplica: Math.round(qpsPerReplica * 10) / 10,
      p99: p99 === null ? null : Math.round(p99 * 10) / 10,
      // Met: the requirement holds and nothing failed in the window (a failed query is not served).
      met: qpsPerReplica < qos && inside.length === ok.length,
    });
  }
  return out;
}

async function setScaleDownWindow(env: ExperimentEnvironment, seconds: number): Promise<void> {
  const objects = new NamespacedObjects(env.namespace, makeClients(loadKubeConfig(env.kubeconfig)));
  await objects.apply(
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: serviceObjectName(ONLINE_REF, MODEL_SERVER_SERVICE), namespace: env.namespace },
      spec: { behavior: { scaleDown: { stabilizationWindowSeconds: seconds } } },
    },
    `${FIELD_MANAGER}-mlperf-experiment`,
  );
}

async function readHpa(env: ExperimentEnvironment): Promise<{ threshold: number; desired: number }> {
  const { AutoscalingV2Api, KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(env.kubeconfig);
  const h = await kc.makeApiClient(AutoscalingV2Api).readNamespacedHorizontalPodAutoscaler({
    name: serviceObjectName(ONLINE_REF, MODEL_SERVER_SERVICE),
    namespace: env.namespace,
  });
  return {
    threshold: h.spec?.metrics?.[0]?.resource?.target?.averageUtilization ?? 0,
    desired: h.status?.desiredReplicas ?? 0,
  };
}

async function runSetting(
  env: ExperimentEnvironment,
  o: AutoscalingOptions,
  kind: 'threshold' | 'agent',
  threshold: number,
): Promise<{ result: SettingResult; agent?: AgentRecord }> {
  const setting = kind === 'agent' ? `agent (from ${threshold} %)` : `HPA ${threshold} %`;
  const ref = { ...ONLINE_REF };
  const url = await deployOnline(env, {
    replicas: 1,
    backup: false,
    resources: { requests: { cpu: o.cpuRequest, memory: '256Mi' }, limits: { cpu: o.cpuLimit, memory: '1Gi' } },
    autoscaling: { kind: 'hpa', cpuUtilization: threshold, minReplicas: 1, maxReplicas: o.maxReplicas },
  });
  await setScaleDownWindow(env, o.scaleDownStabilizationSeconds);
  let agent: RunningAgent | undefined;
  if (kind === 'agent') {
    agent = await RunningAgent.start(
      env.client,
      qosTunerAgent({
        ...defaultMlperfAgentOptions,
        app: MLPERF_APP,
        online: ref,
        servingSelector: `namespace="${env.namespace}",app="${ref.app}",workflow="${ref.workflow}",component="${MODEL_SERVER_SERVICE}"`,
        window: '20s',
        replicaLabel: 'pod',
        tuner: {
          ...defaultMlperfAgentOptions.tuner,
          interval: o.tunerInterval,
          qosMetric: 'qps-per-replica',
          qosBound: o.qos,
          // Two readings in a row, one quiet evaluation after a change (the HPA syncs every 5 s).
          sustain: 2,
          cooldown: 1,
          stepFraction: 0.4,
          maxStep: 30,
          initialThreshold: threshold,
          minThreshold: o.minThreshold,
          maxThreshold: o.maxThreshold,
        },
      }),
      uiBaseOf(env.temporal),
    );
    o.log(`autoscaling: tuner ${agent.id}, requirement < ${o.qos} queries/s per replica`);
  }
  const before = await loadAverage();
  const trace: SettingResult['thresholdTrace'] = [];
  let watching = true;
  let t0 = Date.now();
  const watcher = (async () => {
    while (watching) {
      try {
        const [{ ready }, hpa] = await Promise.all([
          servicePods(env.core, env.namespace, ref, MODEL_SERVER_SERVICE),
          readHpa(env),
        ]);
        trace.push({ t: (Date.now() - t0) / 1000, threshold: hpa.threshold, replicas: ready, desired: hpa.desired });
      } catch {
        // the next sample comes in 2 s
      }
      await sleep(2000);
    }
  })();
  let last = 0;
  const profile = loadProfile(o.duration, o.peakQps);
  const run = await runServerLoad({
    url,
    model: MLPERF_MODEL,
    users: o.users,
    steps: profile,
    services: SERVICE_OF_VERSION,
    timeoutMs: 5_000,
    onSecond: (r) => {
      t0 = r.startedAt;
      const t = (Date.now() - r.startedAt) / 1000;
      if (t - last < 20) return;
      last = t;
      const s = trace.at(-1);
      const recent = r.records.filter((x) => x.at > t - 10 && x.service).length / 10;
      o.log(
        `autoscaling ${setting} t=${t.toFixed(0)} s: offered ${offeredAt(r, t)} q/s, answered ${recent.toFixed(0)} q/s, ${s?.replicas ?? '?'} ready (HPA wants ${s?.desired ?? '?'}, threshold ${s?.threshold ?? '?'} %)`,
      );
    },
  });
  watching = false;
  await watcher;
  const after = await loadAverage();
  const record = await agent?.stop('autoscaling run finished');
  await removeOnline(env);

  const ws = windows(run, trace, o.qos, o.duration);
  const replicaSeconds = trace.reduce((n, s, i) => n + s.replicas * ((trace[i + 1]?.t ?? s.t) - s.t), 0);
  const firstUp = profile[0]!.seconds;
  const start = trace.filter((s) => s.t <= firstUp).at(-1)?.replicas ?? 1;
  const up = trace.find((s) => s.t > firstUp && s.replicas > start);
  const result: SettingResult = {
    setting,
    kind,
    threshold,
    windows: ws,
    metShare: ws.length ? Math.round((ws.filter((w) => w.met).length / ws.length) * 1000) / 1000 : 0,
    replicaSeconds: Math.round(replicaSeconds),
    reactionSeconds: up ? Math.round((up.t - firstUp) * 10) / 10 : null,
    answered: run.records.filter((r) => r.service).length,
    failed: run.records.filter((r) => !r.service).length,
    loadAverage: { before, after },
    thresholdTrace: trace.map((s) => ({ ...s, t: Math.round(s.t * 10) / 10 })),
  };
  o.log(
    `autoscaling ${setting}: QoS met ${(100 * result.metShare).toFixed(0)} % of windows, ${result.replicaSeconds} replica-s, reaction ${result.reactionSeconds ?? '-'} s, ${result.failed} failed (load ${after})`,
  );
  return { result, ...(record ? { agent: record } : {}) };
}

export async function runAutoscalingExperiment(
  env: ExperimentEnvironment,
  o: AutoscalingOptions,
): Promise<AutoscalingResult> {
  const { log: _log, ...options } = o;
  const settings: SettingResult[] = [];
  for (const threshold of o.thresholds) settings.push((await runSetting(env, o, 'threshold', threshold)).result);
  const tuned = await runSetting(env, o, 'agent', o.initialThreshold);
  settings.push(tuned.result);
  return { options, profile: loadProfile(o.duration, o.peakQps), settings, agent: tuned.agent! };
}
