/**
 * Figs. 8–9, autoscaling to a QoS requirement: the model server under a load that rises and
 * falls (LoadGen Server, `users` clients). Baseline (Fig. 8): a real HPA (kube-controller-manager,
 * pod CPU from metrics-server) at the data engineer's fixed CPU-utilisation thresholds, one run
 * each. Agent (Fig. 9, default `agent: 'keda-qps'`): KEDA scales the service on its answered
 * queries/s (a ScaledObject with a Prometheus trigger), and the tuner agent sets KEDA's threshold
 * (queries/s per replica) at run time (updateWorkflowReplica) from the load's surges within the
 * autoscaler's reaction time, starting from a safe third of the requirement (keda-tuner.ts).
 * `agent: 'hpa-cpu'` runs the CPU tuner instead (the HPA's threshold from the cost of a query).
 *
 * Per 10 s window: offered load, answered queries/s, ready replicas, queries/s per replica against
 * the requirement, p99. Per setting: share of windows meeting the requirement, replica-seconds,
 * and for each step up of the load the time to the first added replica Ready and to enough Ready
 * replicas for the requirement at the new load. `rounds` > 1 runs every setting again, interleaved
 * (20, 50, 80, agent, 20, …), so the machine's load drifts over all settings alike.
 *
 * The HPA's scale-down stabilisation is 30 s here (Kubernetes' default 300 s would keep every
 * replica to the end of a run of minutes), the same for every setting (KEDA's through its
 * ScaledObject): set with its own field manager, so the platform's and the tuner's updates keep it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultMlperfAgentOptions, kedaTunerOptions, qosTunerAgent } from '../agents.js';
import type { TunedAutoscaler } from '../decisions.js';
import { MLPERF_APP, MLPERF_MODEL, MODEL_SERVER_SERVICE, ONLINE_REF } from '../names.js';
import { parseCpuQuantity } from '../../../platform/kubernetes/control-plane/quantity.js';
import { serviceObjectName } from '../../../platform/names.js';
import { RunningAgent, uiBaseOf, type AgentRecord } from './agent-run.js';
import { servicePods } from './cluster-ops.js';
import { ServiceAutoscaler } from './service-autoscaler.js';
import { previousSettingGone } from './settle.js';
import type { ExperimentEnvironment } from './environment.js';
import {
  loadProfile,
  replicaSeconds,
  stepReactions,
  windows,
  type Reaction,
  type TracePoint,
  type Window,
} from './autoscaling-measures.js';
import { offeredAt, runServerLoad, type LoadStep } from './load.js';
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
  /**
   * What the agent tunes: KEDA on the service's answered queries/s (keda-qps, Fig. 9; its threshold
   * in queries/s per replica, from a third of the requirement, see kedaTunerOptions) or the HPA's
   * CPU threshold (hpa-cpu, from initialThreshold within [minThreshold, maxThreshold] %).
   */
  agent: TunedAutoscaler;
  /** Untuned KEDA settings (queries/s per replica), one run each after the agent (e.g. [qos]); none by default. */
  kedaThresholds: number[];
  /** The CPU tuner's starting threshold and bounds (%). */
  initialThreshold: number;
  minThreshold: number;
  maxThreshold: number;
  maxReplicas: number;
  /** CPU request of a replica (utilisation is relative to it) and its limit. */
  cpuRequest: string;
  cpuLimit: string;
  tunerInterval: string;
  scaleDownStabilizationSeconds: number;
  /** Runs of every setting, interleaved. */
  rounds: number;
  log: (line: string) => void;
}

export const defaultAutoscalingOptions: Omit<AutoscalingOptions, 'log'> = {
  users: 100,
  duration: 240,
  peakQps: 100,
  qos: 20,
  thresholds: [20, 50, 80],
  agent: 'keda-qps',
  kedaThresholds: [],
  // The CPU tuner starts from the data engineer's safest setting and has to find the cheaper one.
  initialThreshold: 20,
  minThreshold: 10,
  maxThreshold: 90,
  maxReplicas: 6,
  cpuRequest: '100m',
  cpuLimit: '500m',
  tunerInterval: '5s',
  scaleDownStabilizationSeconds: 30,
  rounds: 1,
};

export interface SettingResult {
  /** "HPA 50 %", "KEDA 20 q/s" or "agent (…)". */
  setting: string;
  /** threshold: an HPA CPU threshold (the baseline); keda: a fixed KEDA threshold; agent: tuned. */
  kind: 'threshold' | 'keda' | 'agent';
  /** The autoscaler of the run (the unit of `threshold`: % CPU or queries/s per replica). */
  autoscaler?: TunedAutoscaler;
  threshold: number;
  /** 1, 2, …: the round of an interleaved repetition. */
  round: number;
  windows: Window[];
  metShare: number;
  replicaSeconds: number;
  /** Seconds from the first load step up to the first added replica Ready (null: none). */
  reactionSeconds: number | null;
  /** Every step up of the load. */
  reactions: Reaction[];
  answered: number;
  failed: number;
  loadAverage: { before: string; after: string };
  /** The thresholds the HPA had over the run (agent: as tuned). */
  thresholdTrace: TracePoint[];
}

export interface AutoscalingResult {
  options: Omit<AutoscalingOptions, 'log'>;
  profile: LoadStep[];
  /** Every run, round after round (round 1 first). */
  settings: SettingResult[];
  /** The tuner's record of the first round (the report's decisions and Temporal UI link). */
  agent: AgentRecord;
  /** The tuner's records of later rounds. */
  laterAgents?: AgentRecord[];
}

async function runSetting(
  env: ExperimentEnvironment,
  hpa: ServiceAutoscaler,
  o: AutoscalingOptions,
  kind: SettingResult['kind'],
  round: number,
  fixed = 0,
): Promise<{ result: SettingResult; agent?: AgentRecord }> {
  const ref = { ...ONLINE_REF };
  const autoscaler: TunedAutoscaler = kind === 'threshold' ? 'hpa-cpu' : kind === 'keda' ? 'keda-qps' : o.agent;
  const servingSelector = `namespace="${env.namespace}",app="${ref.app}",workflow="${ref.workflow}",component="${MODEL_SERVER_SERVICE}"`;
  const keda = kedaTunerOptions({
    ...defaultMlperfAgentOptions,
    tuner: { ...defaultMlperfAgentOptions.tuner, qosBound: o.qos },
  });
  const threshold =
    kind !== 'agent' ? fixed : autoscaler === 'keda-qps' ? keda.tuner.initialThreshold : o.initialThreshold;
  const setting =
    kind === 'threshold'
      ? `HPA ${threshold} %`
      : kind === 'keda'
        ? `KEDA ${threshold} q/s`
        : autoscaler === 'keda-qps'
          ? `agent (KEDA q/s, from ${threshold})`
          : `agent (HPA, from ${threshold} %)`;
  const tag = o.rounds > 1 ? `${setting}, round ${round}` : setting;
  await previousSettingGone(
    env,
    { name: serviceObjectName(ref, MODEL_SERVER_SERVICE), selector: servingSelector },
    o.log,
  );
  const url = await deployOnline(env, {
    replicas: 1,
    backup: false,
    resources: { requests: { cpu: o.cpuRequest, memory: '256Mi' }, limits: { cpu: o.cpuLimit, memory: '1Gi' } },
    autoscaling:
      autoscaler === 'keda-qps'
        ? {
            kind: 'keda',
            // KEDA's AverageValue: desired = ceil(answered queries/s of the service / threshold). The
            // 10 s rate holds five 2 s scrapes; KEDA's HPA reads it at every 5 s sync.
            queriesPerReplica: threshold,
            prometheus: env.prometheus.url,
            window: '10s',
            pollingIntervalSeconds: 5,
            minReplicas: 1,
            maxReplicas: o.maxReplicas,
          }
        : { kind: 'hpa', cpuUtilization: threshold, minReplicas: 1, maxReplicas: o.maxReplicas },
  });
  await hpa.setScaleDownWindow(autoscaler, o.scaleDownStabilizationSeconds);
  let agent: RunningAgent | undefined;
  if (kind === 'agent' && autoscaler === 'keda-qps') {
    agent = await RunningAgent.start(
      env.client,
      qosTunerAgent({
        ...keda,
        app: MLPERF_APP,
        online: ref,
        servingSelector,
        // Evidence of this deployment only: the series of the earlier settings are another service's.
        surge: { ...keda.surge, since: Date.now() },
      }),
      uiBaseOf(env.temporal),
    );
    o.log(
      `autoscaling ${tag}: tuner ${agent.id} (KEDA on queries/s), requirement < ${o.qos} queries/s per replica, ` +
        `surge over ${keda.tuner.reactionSeconds} s, memory ${keda.tuner.memorySeconds} s`,
    );
  } else if (kind === 'agent') {
    agent = await RunningAgent.start(
      env.client,
      qosTunerAgent({
        ...defaultMlperfAgentOptions,
        app: MLPERF_APP,
        online: ref,
        servingSelector,
        servingCpuSelector: `namespace="${env.namespace}",pod=~"${serviceObjectName(ref, MODEL_SERVER_SERVICE)}-.*"`,
        // Prometheus scrapes the pods every 2 s: 10 s hold five scrapes. The pods' CPU comes from
        // the kubelets' cAdvisor, refreshed about every 10 s: 30 s hold two refreshes or more.
        window: '10s',
        cpuWindow: '30s',
        replicaLabel: 'pod',
        tuner: {
          ...defaultMlperfAgentOptions.tuner,
          interval: o.tunerInterval,
          qosMetric: 'qps-per-replica',
          qosBound: o.qos,
          // The hold: two readings in a row (10 s at 5 s); then two quiet evaluations while the new
          // pods' start-up CPU leaves the 30 s cost window's recent part (the HPA syncs every 5 s).
          sustain: 2,
          cooldown: 2,
          // Most of the way to the cost model's threshold at once; 30 points at most.
          stepFraction: 0.6,
          maxStep: 30,
          initialThreshold: threshold,
          minThreshold: o.minThreshold,
          maxThreshold: o.maxThreshold,
          cpuRequestCores: parseCpuQuantity(o.cpuRequest, 'cpuRequest'),
        },
      }),
      uiBaseOf(env.temporal),
    );
    o.log(`autoscaling ${tag}: tuner ${agent.id}, requirement < ${o.qos} queries/s per replica`);
  }
  const before = await loadAverage();
  const trace: SettingResult['thresholdTrace'] = [];
  let watching = true;
  let t0 = Date.now();
  const watcher = (async () => {
    while (watching) {
      try {
        const [{ ready }, now] = await Promise.all([
          servicePods(env.core, env.namespace, ref, MODEL_SERVER_SERVICE),
          hpa.read(autoscaler),
        ]);
        trace.push({ t: (Date.now() - t0) / 1000, threshold: now.threshold, replicas: ready, desired: now.desired });
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
        `autoscaling ${tag} t=${t.toFixed(0)} s: offered ${offeredAt(r, t)} q/s, answered ${recent.toFixed(0)} q/s, ${s?.replicas ?? '?'} ready (HPA wants ${s?.desired ?? '?'}, threshold ${s?.threshold ?? '?'}${autoscaler === 'keda-qps' ? ' q/s' : ' %'})`,
      );
    },
  });
  watching = false;
  await watcher;
  const after = await loadAverage();
  const record = await agent?.stop('autoscaling run finished');
  await removeOnline(env);

  const ws = windows(run, trace, o.qos, o.duration);
  const reactions = stepReactions(run, trace, o.qos);
  const result: SettingResult = {
    setting,
    kind,
    autoscaler,
    threshold,
    round,
    windows: ws,
    metShare: ws.length ? Math.round((ws.filter((w) => w.met).length / ws.length) * 1000) / 1000 : 0,
    replicaSeconds: Math.round(replicaSeconds(trace)),
    reactionSeconds: reactions[0]?.firstReplicaSeconds ?? null,
    reactions,
    answered: run.records.filter((r) => r.service).length,
    failed: run.records.filter((r) => !r.service).length,
    loadAverage: { before, after },
    thresholdTrace: trace.map((s) => ({ ...s, t: Math.round(s.t * 10) / 10 })),
  };
  o.log(
    `autoscaling ${tag}: QoS met ${(100 * result.metShare).toFixed(0)} % of windows, ${result.replicaSeconds} replica-s, ` +
      `steps up: ${reactions.map((x) => `→${x.qps} q/s first replica ${x.firstReplicaSeconds ?? '-'} s, ${x.replicasNeeded} ready ${x.enoughSeconds ?? '-'} s`).join('; ')}, ` +
      `${result.failed} failed (load ${after})`,
  );
  return { result, ...(record ? { agent: record } : {}) };
}

export async function runAutoscalingExperiment(
  env: ExperimentEnvironment,
  o: AutoscalingOptions,
): Promise<AutoscalingResult> {
  const { log: _log, ...options } = o;
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new Error(`rounds: expected an integer >= 1, got ${o.rounds}`);
  parseCpuQuantity(o.cpuRequest, 'cpuRequest');
  parseCpuQuantity(o.cpuLimit, 'cpuLimit');
  // One set of API clients for every setting and every 2 s sample of the trace.
  const hpa = new ServiceAutoscaler(env, serviceObjectName(ONLINE_REF, MODEL_SERVER_SERVICE));
  const settings: SettingResult[] = [];
  const agents: AgentRecord[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    for (const threshold of o.thresholds)
      settings.push((await runSetting(env, hpa, o, 'threshold', round, threshold)).result);
    const tuned = await runSetting(env, hpa, o, 'agent', round);
    settings.push(tuned.result);
    agents.push(tuned.agent!);
    for (const threshold of o.kedaThresholds)
      settings.push((await runSetting(env, hpa, o, 'keda', round, threshold)).result);
  }
  const [agent, ...laterAgents] = agents;
  return {
    options,
    profile: loadProfile(o.duration, o.peakQps),
    settings,
    agent: agent!,
    ...(laterAgents.length ? { laterAgents } : {}),
  };
}
