/**
 * The three planners of the MLPerf infrastructure study (paper Figs. 9–11) as agent specs on the
 * generic runtime, written with the builder:
 *
 *   qos-tuner      every interval: queries/s per replica, p99 and the replicas' CPU (cAdvisor) from
 *                  Prometheus → mlperfTuneThreshold (dead band wider than the HPA's 10 %, a hold of
 *                  `sustain` evaluations, a step toward the threshold that gives the target per
 *                  replica, from the measured CPU cost of a query, bounded, then a cooldown) →
 *                  IF change THEN updateWorkflowReplica(threshold)
 *   anti-affinity  every interval: where the online and batch pods run, p99, the batch pods' CPU →
 *                  mlperfInterference → IF interference held AND not separated yet THEN anti-affinity
 *                  of the batch executor vs the online workflow (later runs) and of the online service
 *                  vs the batch workflow (moves the running pods off the busy node), once
 *   failover       every interval: ready replicas from the API server → mlperfFailover (0 ready held
 *                  for holdSeconds; recovered for recoverSeconds) → IF change THEN updateWorkflowTraffic
 *   qos-tuner-keda the tuner's keda-qps mode (Fig. 9): every interval the load's surge J within the
 *                  autoscaler's reaction time over the memory (mlperfLoadSurge, one PromQL subquery)
 *                  → mlperfTuneThreshold (KEDA's queries/s per replica: bound × 0.9 / J, at most the
 *                  target; lowered at once after the hold, raised in bounded steps once the evidence
 *                  spans the memory) → IF change THEN updateWorkflowReplica(threshold)
 *
 * Every threshold is a parameter (tunable at run time with setParameters / `scanflow agent set`).
 * The decision modules' state lives in the agent's beliefs (the sensor's `state` output) and what
 * was applied is remembered only after the platform call succeeded (`applied`, `separated`,
 * `route`), so a failed call is retried at the next evaluation.
 */
import type { AgentSpec, Json } from '../../agents/spec.js';
import { activity, agent, and, eq, every, exists, not, ref, when } from '../../agents/builder.js';
import { TaskQueues } from '../../agents/conventions.js';
import {
  defaultFailoverParams,
  defaultInterferenceParams,
  defaultTunerParams,
  type FailoverParams,
  type InterferenceParams,
  type TunerParams,
} from './decisions.js';
import {
  AGENTS,
  BACKUP_SERVICE,
  BATCH_REF,
  MLPERF_APP,
  MODEL_SERVER_SERVICE,
  OFFLINE_EXECUTOR,
  ONLINE_REF,
} from './names.js';

interface Ref {
  app: string;
  workflow: string;
}

export interface MlperfAgentOptions {
  /** The agents' app (their ids are scanflow.<app>.<agent>). */
  app: string;
  online: Ref;
  batch: Ref;
  onlineService: string;
  backupService: string;
  batchExecutor: string;
  /** PromQL label matchers of the online service's model-server metrics. */
  servingSelector: string;
  /** PromQL label matchers of the batch pods' cAdvisor series. */
  batchCpuSelector: string;
  /** PromQL label matchers of the online service's pods' cAdvisor series (the tuner's cost model). */
  servingCpuSelector: string;
  /**
   * Rate window of the CPU query: longer than the load's, since the kubelet's cAdvisor refreshes a
   * pod's CPU about every 10 s (a short window would see one refresh or none).
   */
  cpuWindow: string;
  /** Rate window of the PromQL queries. */
  window: string;
  /** Label naming one replica in the model-server series (instance, or pod with Kubernetes discovery). */
  replicaLabel: string;
  tuner: TunerParams & { interval: string };
  /**
   * The keda-qps tuner's sensor: queries/s below which a rise is measured from this value (default
   * the requirement: below it one replica meets it whatever the threshold), the subquery's
   * resolution (the scrape interval), and the time (ms) the service was deployed (0: any series).
   */
  surge: { floorQps: number | null; stepSeconds: number; since: number };
  antiAffinity: InterferenceParams & { interval: string };
  failover: Omit<FailoverParams, 'primary' | 'backup'> & { interval: string };
}

export const defaultMlperfAgentOptions: MlperfAgentOptions = {
  app: MLPERF_APP,
  online: { ...ONLINE_REF },
  batch: { ...BATCH_REF },
  onlineService: MODEL_SERVER_SERVICE,
  backupService: BACKUP_SERVICE,
  batchExecutor: OFFLINE_EXECUTOR,
  servingSelector: `namespace="scanflow",app="${MLPERF_APP}",workflow="${ONLINE_REF.workflow}",component="${MODEL_SERVER_SERVICE}"`,
  // Pods are named after the workflow's objects: <workflow>-r<run>-<executor>-…, <workflow>-<service>-…
  batchCpuSelector: `namespace="scanflow",pod=~"${BATCH_REF.workflow}-.*"`,
  servingCpuSelector: `namespace="scanflow",pod=~"${ONLINE_REF.workflow}-${MODEL_SERVER_SERVICE}-.*"`,
  window: '1m',
  cpuWindow: '1m',
  replicaLabel: 'pod',
  // The hold (sustain × interval = 45 s) and the cooldown, not a slow interval, keep the tuner from
  // acting on noise or on the autoscaler's own transients; the cost model needs the pods' request.
  tuner: { ...defaultTunerParams, interval: '15s', cpuRequestCores: 0.5 },
  surge: { floorQps: null, stepSeconds: 2, since: 0 },
  antiAffinity: { ...defaultInterferenceParams, interval: '30s' },
  failover: {
    holdSeconds: defaultFailoverParams.holdSeconds,
    recoverSeconds: defaultFailoverParams.recoverSeconds,
    minReadyToReturn: defaultFailoverParams.minReadyToReturn,
    interval: '5s',
  },
};

const k8s = { taskQueue: TaskQueues.kubernetes, timeout: '1m', attempts: 3 } as const;
const params = (keys: readonly string[]): Record<string, Json> =>
  Object.fromEntries(keys.map((k) => [k, ref(`params.${k}`)]));

const TUNER_KEYS = [
  'qosMetric',
  'qosBound',
  'lowFraction',
  'highFraction',
  'targetFraction',
  'sustain',
  'cooldown',
  'stepFraction',
  'maxStep',
  'minThreshold',
  'maxThreshold',
  'initialThreshold',
  'decimals',
  'cpuRequestCores',
  'minServingQps',
  'fitMemory',
  'autoscaler',
  'reactionSeconds',
  'memorySeconds',
  'raiseEvidenceSeconds',
] as const;
const INTERFERENCE_KEYS = ['p99Bound', 'minBatchCores', 'sustain'] as const;
const FAILOVER_KEYS = ['primary', 'backup', 'holdSeconds', 'recoverSeconds', 'minReadyToReturn'] as const;

export function qosTunerAgent(o: MlperfAgentOptions = defaultMlperfAgentOptions): AgentSpec {
  if (o.tuner.autoscaler === 'keda-qps') return kedaTunerAgent(o);
  const { interval, ...tuning } = o.tuner;
  const selection = { selector: ref('params.servingSelector'), window: ref('params.window') };
  return agent(o.app, AGENTS.tuner, 'planner')
    .params({
      target: { ...o.online },
      service: o.onlineService,
      servingSelector: o.servingSelector,
      servingCpuSelector: o.servingCpuSelector,
      window: o.window,
      cpuWindow: o.cpuWindow,
      replicaLabel: o.replicaLabel,
      ...tuning,
    })
    .strategy(
      when(every(interval))
        .sense('promQueriesPerReplica', 'load', { ...selection, replicaLabel: ref('params.replicaLabel') })
        .sense('promLatencyQuantile', 'latency', { ...selection, quantile: 0.99 })
        // The cost model's two sides over the same window: CPU per pod and queries/s per replica.
        .sense('promCpuSecondsPerPod', 'cpu', {
          selector: ref('params.servingCpuSelector'),
          window: ref('params.cpuWindow'),
        })
        .sense('promQueriesPerReplica', 'served', {
          selector: ref('params.servingSelector'),
          window: ref('params.cpuWindow'),
          replicaLabel: ref('params.replicaLabel'),
        })
        .sense('mlperfTuneThreshold', 'tuner', {
          observed: {
            qpsPerReplica: ref('results.load.value'),
            p99: ref('results.latency.value'),
            perReplica: ref('results.served.perReplica'),
            cpu: ref('results.cpu.pods'),
          },
          applied: ref('beliefs.applied.threshold'),
          state: ref('beliefs.tuner.state'),
          params: params(TUNER_KEYS),
        })
        .if(eq(ref('results.tuner.change'), true))
        .then(...applyTunedThreshold())
        .named('tune-threshold'),
    )
    .build();
}

/**
 * Both tuner modes' action: the decided threshold to the autoscaler (updateWorkflowReplica), then
 * remembered as `applied`, only once the autoscaler has it (a failed update is retried next time).
 */
function applyTunedThreshold() {
  return [
    activity(
      'updateWorkflowReplica',
      {
        ref: ref('params.target'),
        service: ref('params.service'),
        change: { threshold: ref('results.tuner.threshold') },
      },
      { ...k8s, as: 'update' },
    ),
    activity(
      'scanflowLog',
      {
        threshold: ref('results.tuner.threshold'),
        from: ref('results.tuner.from'),
        reason: ref('results.tuner.reason'),
      },
      { as: 'applied', remember: true },
    ),
  ] as const;
}

/**
 * The tuner in its keda-qps mode: every interval the load's surge J over the memory (one PromQL
 * subquery, mlperfLoadSurge) and queries/s per replica (for the log) → mlperfTuneThreshold → IF
 * change THEN updateWorkflowReplica(threshold): the ScaledObject's Prometheus trigger threshold.
 */
export function kedaTunerAgent(o: MlperfAgentOptions = defaultMlperfAgentOptions): AgentSpec {
  const { interval, ...tuning } = o.tuner;
  return agent(o.app, AGENTS.kedaTuner, 'planner')
    .params({
      target: { ...o.online },
      service: o.onlineService,
      servingSelector: o.servingSelector,
      window: o.window,
      replicaLabel: o.replicaLabel,
      surgeFloorQps: o.surge.floorQps ?? tuning.qosBound,
      surgeStepSeconds: o.surge.stepSeconds,
      evidenceSince: o.surge.since,
      ...tuning,
    })
    .strategy(
      when(every(interval))
        .sense('promQueriesPerReplica', 'load', {
          selector: ref('params.servingSelector'),
          window: ref('params.window'),
          replicaLabel: ref('params.replicaLabel'),
        })
        .sense('mlperfLoadSurge', 'surge', {
          selector: ref('params.servingSelector'),
          window: ref('params.window'),
          reactionSeconds: ref('params.reactionSeconds'),
          memorySeconds: ref('params.memorySeconds'),
          stepSeconds: ref('params.surgeStepSeconds'),
          floorQps: ref('params.surgeFloorQps'),
          since: ref('params.evidenceSince'),
        })
        .sense('mlperfTuneThreshold', 'tuner', {
          observed: {
            qpsPerReplica: ref('results.load.value'),
            surge: ref('results.surge.value'),
            evidenceSeconds: ref('results.surge.evidenceSeconds'),
          },
          applied: ref('beliefs.applied.threshold'),
          state: ref('beliefs.tuner.state'),
          params: params(TUNER_KEYS),
        })
        .if(eq(ref('results.tuner.change'), true))
        .then(...applyTunedThreshold())
        .named('tune-keda-threshold'),
    )
    .build();
}

/**
 * The keda-qps tuner's defaults: the threshold is queries/s per replica (decimals 1), from 1 to the
 * requirement, starting at a third of it (safe for a load that triples within a reaction, as the
 * CPU tuner starts from the safest threshold); the hold is two evaluations at 5 s (a surge is a
 * maximum over the memory: it does not flicker, the hold only filters a bad reading).
 */
export function kedaTunerOptions(o: MlperfAgentOptions = defaultMlperfAgentOptions): MlperfAgentOptions {
  const bound = o.tuner.qosBound;
  return {
    ...o,
    window: '10s',
    tuner: {
      ...o.tuner,
      autoscaler: 'keda-qps',
      qosMetric: 'qps-per-replica',
      interval: '5s',
      sustain: 2,
      cooldown: 2,
      stepFraction: 0.2,
      maxStep: bound / 4,
      decimals: 1,
      minThreshold: 1,
      maxThreshold: bound,
      initialThreshold: Math.round((bound / 3) * 10) / 10,
    },
  };
}

export function antiAffinityAgent(o: MlperfAgentOptions = defaultMlperfAgentOptions): AgentSpec {
  const { interval, ...tuning } = o.antiAffinity;
  return agent(o.app, AGENTS.antiAffinity, 'planner')
    .params({
      online: { ...o.online },
      batch: { ...o.batch },
      onlineService: o.onlineService,
      batchExecutor: o.batchExecutor,
      servingSelector: o.servingSelector,
      batchCpuSelector: o.batchCpuSelector,
      window: o.window,
      ...tuning,
    })
    .strategy(
      when(every(interval))
        .sense('podPlacement', 'onlinePods', ref('params.online'), k8s)
        .sense('podPlacement', 'batchPods', ref('params.batch'), k8s)
        .sense('promLatencyQuantile', 'latency', {
          selector: ref('params.servingSelector'),
          window: ref('params.window'),
          quantile: 0.99,
        })
        .sense('promCpuSecondsPerPod', 'batchCpu', {
          selector: ref('params.batchCpuSelector'),
          window: ref('params.window'),
        })
        .sense('mlperfInterference', 'interference', {
          online: ref('results.onlinePods'),
          batch: ref('results.batchPods'),
          p99: ref('results.latency.value'),
          cpu: ref('results.batchCpu.pods'),
          separated: ref('beliefs.separated.done'),
          state: ref('beliefs.interference.state'),
          params: params(INTERFERENCE_KEYS),
        })
        // Once: after the actions succeeded `separated` is a belief and the constraint stays false.
        .if(and(eq(ref('results.interference.act'), true), not(exists(ref('beliefs.separated')))))
        .then(
          // Later runs of the batch workflow stay off the online service's nodes …
          activity(
            'updateExecutorAffinity',
            {
              ref: ref('params.batch'),
              executor: ref('params.batchExecutor'),
              affinity: {
                antiAffinity: [
                  {
                    matchLabels: { app: ref('params.online.app'), workflow: ref('params.online.workflow') },
                    mode: 'required',
                  },
                ],
              },
            },
            { ...k8s, as: 'batchAffinity' },
          ),
          // … and the online pods leave the running batch pods' nodes now (a rolling update).
          activity(
            'updateOnlineWorkflowAffinity',
            {
              ref: ref('params.online'),
              service: ref('params.onlineService'),
              affinity: {
                antiAffinity: [
                  {
                    matchLabels: { app: ref('params.batch.app'), workflow: ref('params.batch.workflow') },
                    mode: 'required',
                  },
                ],
              },
            },
            { ...k8s, as: 'onlineAffinity' },
          ),
          activity(
            'scanflowLog',
            {
              done: true,
              colocated: ref('results.interference.colocated'),
              reason: ref('results.interference.reason'),
            },
            { as: 'separated', remember: true },
          ),
        )
        .named('separate'),
    )
    .build();
}

export function failoverAgent(o: MlperfAgentOptions = defaultMlperfAgentOptions): AgentSpec {
  const { interval, ...tuning } = o.failover;
  return agent(o.app, AGENTS.failover, 'planner')
    .params({ online: { ...o.online }, primary: o.onlineService, backup: o.backupService, ...tuning })
    .strategy(
      when(every(interval))
        .sense('readyReplicas', 'replicas', ref('params.online'), k8s)
        .sense('mlperfFailover', 'failover', {
          replicas: ref('results.replicas'),
          active: ref('beliefs.route.active'),
          state: ref('beliefs.failover.state'),
          params: params(FAILOVER_KEYS),
        })
        .if(eq(ref('results.failover.change'), true))
        .then(
          activity(
            'updateWorkflowTraffic',
            { ref: ref('params.online'), traffic: { active: ref('results.failover.route') } },
            { ...k8s, as: 'traffic' },
          ),
          activity(
            'scanflowLog',
            {
              active: ref('results.failover.route'),
              at: ref('results.failover.observedAt'),
              reason: ref('results.failover.reason'),
            },
            { as: 'route', remember: true },
          ),
        )
        .named('failover'),
    )
    .build();
}

/** The three planners, in the order of the paper's figures, then the tuner's KEDA mode (Fig. 9). */
export function mlperfAgents(o: MlperfAgentOptions = defaultMlperfAgentOptions): AgentSpec[] {
  return [qosTunerAgent(o), antiAffinityAgent(o), failoverAgent(o), kedaTunerAgent(kedaTunerOptions(o))];
}
