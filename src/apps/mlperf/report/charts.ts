/**
 * The MLPerf report's charts as Vega-Lite specs (the shared look of src/report/specs.ts), one per
 * figure, built from the experiments' results. Render with renderVegaLite(spec, base).
 */
import { PALETTE, timeSeriesChart, type LineSeries } from '../../../report/specs.js';
import type { TopLevelSpec } from '../../../report/vega.js';
import type { AffinityResult } from '../experiments/affinity.js';
import type { AutoscalingResult } from '../experiments/autoscaling.js';
import type { FailoverResult } from '../experiments/failover.js';
import { BACKUP_SERVICE, MODEL_SERVER_SERVICE } from '../names.js';

const pts = (xs: Array<[number, number | null]>): Array<[number, number]> =>
  xs.filter((p): p is [number, number] => p[1] !== null && Number.isFinite(p[1]));

/** Figs. 8–9: per 10 s window, queries/s per replica against the requirement, replicas; the HPA's threshold; offered load; one line per setting. */
export function autoscalingChart(r: AutoscalingResult, round = 1): TopLevelSpec {
  // One round (a repetition would double every line); the same colour for a setting in every
  // panel; names are unique per chart (the legend).
  const settings = r.settings.filter((s) => s.round === round);
  const line = (suffix: string, f: (w: AutoscalingResult['settings'][number]['windows'][number]) => number | null) =>
    settings.map((s, i): LineSeries => ({
      name: `${s.setting}${suffix}`,
      points: pts(s.windows.map((w) => [w.t + 5, f(w)])),
      dashed: s.kind === 'threshold',
      color: PALETTE[i % PALETTE.length],
    }));
  const offered = settings[0]?.windows ?? [];
  const spec = timeSeriesChart({
    title: `Figs. 8-9: CPU-threshold HPA vs the QoS tuner${r.options.agent === 'keda-qps' ? ' on KEDA (queries/s)' : ''}`,
    subtitle: `${r.options.users} LoadGen users, load rising and falling; requirement < ${r.options.qos} queries/s per replica`,
    x: { title: 'time', unit: 's', zero: true },
    panels: [
      {
        y: { title: 'answered per replica', unit: 'queries/s', zero: true },
        series: line('', (w) => w.qpsPerReplica),
        references: [{ y: r.options.qos, label: `requirement < ${r.options.qos}` }],
      },
      { y: { title: 'ready replicas', zero: true }, series: line(' · replicas', (w) => w.replicas) },
      {
        // The autoscaler's target as it was: flat for a fixed threshold, as tuned for the agent
        // (% CPU for the HPA settings, queries/s per replica for KEDA's).
        y: {
          title: 'threshold',
          unit: settings.some((s) => s.autoscaler === 'keda-qps') ? '% CPU; KEDA q/s' : '% CPU',
          zero: true,
        },
        series: settings.map((s, i): LineSeries => ({
          name: `${s.setting} · threshold`,
          points: pts(s.thresholdTrace.map((x) => [x.t, x.threshold > 0 ? x.threshold : null])),
          dashed: s.kind === 'threshold',
          color: PALETTE[i % PALETTE.length],
        })),
      },
      {
        y: { title: 'offered load', unit: 'queries/s', zero: true },
        series: [{ name: 'offered', points: pts(offered.map((w) => [w.t + 5, w.offered])), color: '#555555' }],
      },
    ],
  });
  // Four series a panel: the shared one-row legend would run far wider than the plot; one row per panel.
  // (A copy: the config object is the look every chart shares.)
  const config = (spec as { config?: { legend?: Record<string, unknown> } }).config;
  return { ...spec, config: { ...config, legend: { ...config?.legend, columns: settings.length } } } as TopLevelSpec;
}

/** Fig. 10: Server p99, completed queries/s and Offline samples/s over time; the agent's action and the move marked. */
export function affinityChart(r: AffinityResult): TopLevelSpec {
  const agentAt = r.colocated.to;
  const events = [{ x: agentAt, label: 'agent started' }];
  if (r.movedAfter !== null) events.push({ x: Math.round(agentAt + r.movedAfter), label: 'separated' });
  return timeSeriesChart({
    title: 'Fig. 10: batch job co-located vs separated by the anti-affinity agent',
    subtitle: `${r.options.users} Server users at ${r.options.qps} queries/s; Offline LoadGen in the batch pod`,
    x: { title: 'time', unit: 's', zero: true },
    events,
    panels: [
      {
        y: { title: 'Server p99', unit: 'ms', zero: true },
        series: [{ name: 'Server p99', points: pts(r.series.map((s) => [s.t + 2.5, s.p99Ms])) }],
        // The agent's bound is on the server's own p99 (its histogram); this line is the client's.
        references: [
          { y: r.options.p99Bound * 1000, label: `agent's bound ${r.options.p99Bound * 1000} ms (server-side p99)` },
        ],
      },
      {
        y: { title: 'Server completed', unit: 'queries/s', zero: true },
        series: [{ name: 'Server completed', points: pts(r.series.map((s) => [s.t + 2.5, s.completedQps])) }],
      },
      {
        y: { title: 'Offline', unit: 'samples/s', zero: true },
        series: [
          { name: 'Offline samples/s', points: pts(r.series.map((s) => [s.t + 2.5, s.offlineSamplesPerSecond])) },
        ],
      },
    ],
  });
}

/** Fig. 11: answers per second by service and failures, the primary's ready replicas; overload, loss, redirect, return marked. */
export function failoverChart(r: FailoverResult): TopLevelSpec {
  const events = [{ x: r.overloadAt, label: 'overload' }];
  if (r.readinessLostAt !== null) events.push({ x: r.readinessLostAt, label: '0 ready' });
  if (r.redirectedAt !== null) events.push({ x: r.redirectedAt, label: 'to backup' });
  if (r.returnedAt !== null) events.push({ x: r.returnedAt, label: 'back' });
  return timeSeriesChart({
    title: 'Fig. 11: fail-over to the backup service',
    subtitle: `${r.options.users} LoadGen users; ${r.options.normalQps} → ${r.options.overloadQps} → ${r.options.normalQps} queries/s`,
    x: { title: 'time', unit: 's', zero: true },
    events,
    panels: [
      {
        y: { title: 'answered', unit: 'queries/s', zero: true },
        series: [
          { name: `by ${MODEL_SERVER_SERVICE}`, points: r.perSecond.map((x) => [x.t, x[MODEL_SERVER_SERVICE] ?? 0]) },
          { name: `by ${BACKUP_SERVICE}`, points: r.perSecond.map((x) => [x.t, x[BACKUP_SERVICE] ?? 0]) },
          { name: 'failed', points: r.perSecond.map((x) => [x.t, x.failed]), color: '#e45756' },
        ],
      },
      {
        y: { title: `${MODEL_SERVER_SERVICE} ready`, zero: true, integer: true },
        series: [{ name: 'ready replicas', points: r.samples.map((s) => [s.t, s.primaryReady]), color: '#555555' }],
      },
    ],
  });
}
