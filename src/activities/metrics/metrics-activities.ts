/**
 * Sensors that read Prometheus, as activities an agent names in `sense`. Each returns the PromQL
 * it sent and what came back, so the agent's decision log shows exactly what the decision was
 * based on:
 *
 *   promQuery              any instant query                      → { query, time, series, value }
 *   promRangeQuery         any range query (last N seconds)       → { query, start, end, step, series }
 *   promQueriesPerReplica  answered queries/s per replica         → { value (average), replicas, perReplica }
 *   promLatencyQuantile    p99 (or another quantile) in seconds   → { value, quantile }
 *   promCpuSecondsPerPod   cAdvisor CPU (cores and seconds) by pod → { pods: [{ pod, cores, seconds }], totalCores }
 *   promReadyReplicas      kube-state-metrics ready replicas      → { deployments: [{ deployment, ready }] }
 *
 * `value` is null when Prometheus has no sample (no traffic yet, a target down): a sensor
 * reading says "unknown", and a planner must not read it as 0.
 */
import { ApplicationFailure } from '@temporalio/common';
import {
  PrometheusClient,
  type InstantResult,
  type PrometheusSettings,
  type RangeResult,
  type Sample,
} from './prometheus.js';
import {
  checkWindow,
  cpuPerPodQueries,
  latencyQuantileQuery,
  PromqlInputError,
  queriesPerReplicaQueries,
  readyReplicasQuery,
} from './promql.js';

/** Points a range query may return in all (a belief is kept within 64 KiB). */
export const MAX_RANGE_POINTS = 1000;

function badInput<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (err instanceof PromqlInputError) throw ApplicationFailure.nonRetryable(err.message, 'PromqlInvalidInput');
    throw err;
  }
}

const first = (r: InstantResult): number | null => (r.series.length > 0 ? r.series[0]!.value : null);
const round = (v: number | null, digits = 6): number | null =>
  v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits;

export interface SelectorArgs {
  /** Label matchers, e.g. `job="mlperf-online"` or `namespace="scanflow",workflow="online"`. */
  selector?: string;
  /** Rate window, e.g. "1m" (default) or "10s" in tests. */
  window?: string;
}

export function createMetricsActivities(settings: PrometheusSettings) {
  const prom = new PrometheusClient(settings);
  return {
    /** Any instant PromQL query; `value` is the first series' value (null without one). */
    async promQuery(a: { query: string; time?: number }) {
      if (typeof a?.query !== 'string' || a.query.trim() === '')
        throw ApplicationFailure.nonRetryable('promQuery: expected { query: "<PromQL>" }', 'PromqlInvalidInput');
      const r = await prom.instant(a.query, a.time);
      return { ...r, value: first(r) };
    },

    /** A range query over the last `lastSeconds` (default 300) at `stepSeconds` (default 15). */
    async promRangeQuery(a: { query: string; lastSeconds?: number; stepSeconds?: number; end?: number }) {
      if (typeof a?.query !== 'string' || a.query.trim() === '')
        throw ApplicationFailure.nonRetryable('promRangeQuery: expected { query: "<PromQL>" }', 'PromqlInvalidInput');
      const end = a.end ?? Math.floor(Date.now() / 1000);
      const last = a.lastSeconds ?? 300;
      const step = a.stepSeconds ?? 15;
      if (!(last > 0 && step > 0))
        throw ApplicationFailure.nonRetryable(
          'promRangeQuery: lastSeconds and stepSeconds must be > 0',
          'PromqlInvalidInput',
        );
      const r: RangeResult = await prom.range(a.query, end - last, end, step);
      const total = r.series.reduce((n, s) => n + s.values.length, 0);
      if (total <= MAX_RANGE_POINTS) return r;
      // Keep the newest points of each series within the bound, and say so.
      const per = Math.max(1, Math.floor(MAX_RANGE_POINTS / Math.max(1, r.series.length)));
      return {
        ...r,
        series: r.series.slice(0, MAX_RANGE_POINTS).map((s) => ({ ...s, values: s.values.slice(-per) as Sample[] })),
        truncated: { points: total, kept: per },
      };
    },

    /**
     * Average answered queries/s per replica (the QoS tuner's "queries/s per replica < 20"), and
     * each replica's own rate. A replica is a value of `replicaLabel` (default `instance`).
     */
    async promQueriesPerReplica(a: SelectorArgs & { replicaLabel?: string } = {}) {
      const q = badInput(() => queriesPerReplicaQueries(a.selector ?? '', a.window ?? '1m', a.replicaLabel));
      const [avg, per] = await Promise.all([prom.instant(q.average), prom.instant(q.perReplica)]);
      const label = a.replicaLabel ?? 'instance';
      const perReplica = per.series.map((s) => ({ replica: s.labels[label] ?? '', qps: round(s.value) }));
      return {
        query: q.average,
        time: avg.time,
        value: round(first(avg)),
        replicas: perReplica.length,
        perReplica: perReplica.slice(0, 100),
        perReplicaQuery: q.perReplica,
      };
    },

    /** A latency quantile in seconds (default p99) from the model server's histogram. */
    async promLatencyQuantile(a: SelectorArgs & { quantile?: number } = {}) {
      const quantile = a.quantile ?? 0.99;
      const query = badInput(() => latencyQuantileQuery(a.selector ?? '', a.window ?? '1m', quantile));
      const r = await prom.instant(query);
      return { query, time: r.time, quantile, value: round(first(r)) };
    },

    /** CPU by pod from cAdvisor: cores (CPU seconds per second) and CPU seconds over the window. */
    async promCpuSecondsPerPod(a: SelectorArgs = {}) {
      const window = badInput(() => checkWindow(a.window, '1m'));
      const q = badInput(() => cpuPerPodQueries(a.selector ?? '', window));
      const [rate, seconds] = await Promise.all([prom.instant(q.rate), prom.instant(q.seconds)]);
      const secondsOf = new Map(seconds.series.map((s) => [`${s.labels.namespace}/${s.labels.pod}`, s.value]));
      const pods = rate.series
        .map((s) => ({
          namespace: s.labels.namespace ?? '',
          pod: s.labels.pod ?? '',
          cores: round(s.value),
          seconds: round(secondsOf.get(`${s.labels.namespace}/${s.labels.pod}`) ?? null),
        }))
        .slice(0, 200);
      const totalCores = round(pods.reduce((n, p) => n + (p.cores ?? 0), 0));
      return { query: q.rate, secondsQuery: q.seconds, time: rate.time, window, pods, totalCores };
    },

    /** Ready replicas per Deployment as kube-state-metrics exports them. */
    async promReadyReplicas(a: { selector?: string } = {}) {
      const query = badInput(() => readyReplicasQuery(a.selector ?? ''));
      const r = await prom.instant(query);
      return {
        query,
        time: r.time,
        deployments: r.series.map((s) => ({
          namespace: s.labels.namespace ?? '',
          deployment: s.labels.deployment ?? '',
          ready: s.value,
        })),
      };
    },
  };
}

export type MetricsActivities = ReturnType<typeof createMetricsActivities>;
