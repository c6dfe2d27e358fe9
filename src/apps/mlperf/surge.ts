/**
 * The KEDA-mode tuner's sensor: how steeply the service's load rises within the autoscaler's
 * reaction time. One PromQL subquery over the total answered queries/s L(t) (rate over `window`):
 *
 *   J = max over the memory of  L(t) / max(floor, min of L over the preceding reactionSeconds)
 *
 * With KEDA on queries/s the load per replica sits at the threshold T; a load that grows by J
 * within one reaction takes each replica to T × J before the new ones serve, so T ≤ bound / J keeps
 * the requirement through the rise. `floor`: rises from below it are measured from it (below the
 * requirement one replica, the minimum, meets it whatever the threshold, and a ratio from an idle
 * service would be unbounded). The evidence is the seconds of load the memory holds (a service
 * younger than the memory, or redeployed at `since`, has less), so the tuner can tell a flat
 * memory from a short one.
 */
import { ApplicationFailure } from '@temporalio/common';
import {
  PrometheusClient,
  prometheusSettingsFrom,
  type PrometheusSettings,
} from '../../activities/metrics/prometheus.js';
import { checkSelector, checkWindow, METRIC_NAMES, PromqlInputError } from '../../activities/metrics/promql.js';

export interface SurgeArgs {
  /** Label matchers of the service's model-server series. */
  selector: string;
  /** Rate window of the load (e.g. "10s" with a 2 s scrape). */
  window?: string;
  reactionSeconds: number;
  memorySeconds: number;
  /** Subquery resolution: the scrape interval (s). */
  stepSeconds?: number;
  /** Queries/s below which a rise is measured from this value (e.g. the requirement). */
  floorQps: number;
  /** Only series after this time (ms since the epoch) count: the service was (re)deployed then. */
  since?: number | null;
}

const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** The queries for a memory of `memorySeconds` (already capped at the service's age). */
export function surgeQueries(a: SurgeArgs, memorySeconds: number) {
  const selector = checkSelector(a.selector, 'selector');
  if (!selector) throw new PromqlInputError('selector: expected the label matchers of the service (not every series)');
  const window = checkWindow(a.window, '10s', 'window');
  const step = a.stepSeconds ?? 2;
  for (const [k, v] of [
    ['reactionSeconds', a.reactionSeconds],
    ['memorySeconds', memorySeconds],
    ['stepSeconds', step],
    ['floorQps', a.floorQps],
  ] as const)
    if (!positive(v)) throw new PromqlInputError(`${k}: expected a number > 0, got ${String(v)}`);
  const r = Math.round(a.reactionSeconds);
  const m = Math.max(step, Math.round(memorySeconds));
  const load = `sum(rate(${METRIC_NAMES.requests}{${selector}}[${window}]))`;
  return {
    load,
    surge: `max_over_time((${load} / clamp_min(min_over_time(${load}[${r}s:${step}s]), ${a.floorQps}))[${m}s:${step}s])`,
    // Seconds of load in the memory: its points × the resolution.
    evidence: `count_over_time((${load})[${m}s:${step}s]) * ${step}`,
  };
}

export function createSurgeSensor(settings: PrometheusSettings = prometheusSettingsFrom(process.env), now = Date.now) {
  const prom = new PrometheusClient(settings);
  return async function mlperfLoadSurge(a: SurgeArgs) {
    let q: ReturnType<typeof surgeQueries>;
    const t = now();
    const age =
      a?.since !== undefined && a.since !== null && Number.isFinite(a.since) ? (t - a.since) / 1000 : Infinity;
    const memory = Math.min(a?.memorySeconds, age);
    try {
      q = surgeQueries(a, memory);
    } catch (err) {
      if (err instanceof PromqlInputError)
        throw ApplicationFailure.nonRetryable(`mlperfLoadSurge: ${err.message}`, 'PromqlInvalidInput');
      throw err;
    }
    const time = t / 1000;
    const [load, surge, evidence] = await Promise.all([
      prom.instant(q.load, time),
      prom.instant(q.surge, time),
      prom.instant(q.evidence, time),
    ]);
    const first = (r: { series: Array<{ value: number | null }> }) => r.series[0]?.value ?? null;
    const round = (v: number | null, d: number) => (v === null ? null : Math.round(v * 10 ** d) / 10 ** d);
    return {
      query: q.surge,
      evidenceQuery: q.evidence,
      loadQuery: q.load,
      time,
      memorySeconds: Math.round(Math.max(0, memory)),
      /** J (null: no load in the memory). */
      value: round(first(surge), 3),
      evidenceSeconds: round(first(evidence), 0) ?? 0,
      load: round(first(load), 3),
    };
  };
}
