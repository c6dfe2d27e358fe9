/**
 * The result of a run as LoadGen reports it (results.cc): per-scenario metric, VALID/INVALID with
 * each constraint, early stopping, latency statistics in ns, and `formatSummary` writing it in the
 * layout of mlperf_log_summary.txt. Pure: computed from the detail log and the settings.
 *
 * Beyond LoadGen: samples that failed (HTTP error, timeout, never answered) are counted; any
 * failure makes the run INVALID, with the first error named in the recommendations. And every
 * unmet constraint names itself in the recommendations with the figures it failed on (LoadGen
 * prints its advice without the numbers, and nothing for early stopping but the section below
 * it), so an INVALID summary always says why: the result is INVALID exactly when there is a reason.
 */
import type { DetailLog } from './detail-log.js';
import { percentileEstimate, serverEarlyStopping } from './early-stopping.js';
import { effectiveMaxAsyncQueries, type TestSettings } from './settings.js';
import { latencyStats, percentile, percentileLabel, type LatencyStats } from './stats.js';

export interface LoadgenSummary {
  sutName: string;
  scenario: TestSettings['scenario'];
  mode: TestSettings['mode'];
  result: 'VALID' | 'INVALID';
  constraints: {
    /** Server only: the target-percentile latency is within targetLatencyNs. */
    performanceConstraintsMet?: boolean;
    minDurationMet: boolean;
    minQueriesMet: boolean;
    earlyStoppingMet: boolean;
    noFailures: boolean;
  };
  /** One entry per unmet constraint (LoadGen's advice, then the figures); empty when VALID. */
  recommendations: string[];
  /** Why issuing stopped before the schedule's end (LoadGen's "Ending early: …"), if it did. */
  endedEarly?: string;
  earlyStopping: string;
  /** SingleStream / MultiStream: the early-stopping estimate of the target percentile (ns). */
  earlyStoppingLatencyNs?: number;
  queriesIssued: number;
  samples: number;
  samplesFailed: number;
  /** Server: answers over targetLatencyNs (they count, late; none is dropped). */
  overLatencyCount?: number;
  /** Server: (samples − 1) / final query's scheduled time; and / its completion time. */
  scheduledSamplesPerSecond?: number;
  completedSamplesPerSecond?: number;
  /** Offline: samples / time of the last completion. */
  samplesPerSecond?: number;
  /** SingleStream: QPS with and without the LoadGen's overhead. */
  qpsWithLoadgenOverhead?: number;
  qpsWithoutLoadgenOverhead?: number;
  /** The target percentile (e.g. 0.99) and its latency (ns; per query for MultiStream). */
  targetLatencyPercentile: number;
  targetPercentileLatencyNs: number;
  latency: LatencyStats;
  /** MultiStream: per-query latency stats. */
  queryLatency?: LatencyStats;
  /** Scheduled → issued delay of the queries (generator overhead), ns. */
  issueDelay: { p50Ns: number; p99Ns: number; maxNs: number };
  durationNs: {
    finalQueryScheduled: number;
    finalQueryIssued: number;
    finalQueryAllSamplesDone: number;
    maxLatency: number;
  };
  /** Accuracy mode with labelled samples: share of correct answers. */
  accuracy?: number;
  errors: Record<string, number>;
  settings: TestSettings;
}

const sec = (ns: number) => `${(ns / 1e9).toFixed(3)} s`;
const msOf = (ns: number) => `${(ns / 1e6).toFixed(2)} ms`;

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Computes the summary of a (merged) detail log. `labelOf` gives the true label of a QSL index (accuracy mode). */
export function computeSummary(
  log: DetailLog,
  settings: TestSettings,
  sutName: string,
  labelOf?: (index: number) => number | undefined,
): LoadgenSummary {
  const n = log.query.length;
  const sampleLatencies: number[] = [];
  const queryLatency = new Map<number, number>();
  const queryIssue = new Map<number, { scheduled: number; issued: number; done: number }>();
  let failed = 0;
  let maxLatency = 0;
  for (let i = 0; i < n; i++) {
    const q = log.query[i] as number;
    const scheduled = log.scheduledNs[i] as number;
    const issued = log.issuedNs[i] as number;
    let completed = log.completedNs[i] as number;
    if (completed < 0 || log.ok[i] !== 1) failed += 1;
    if (completed < 0) completed = issued; // never answered: counted as failed, its latency unknown
    const latency = completed - scheduled;
    sampleLatencies.push(latency);
    if (latency > maxLatency) maxLatency = latency;
    queryLatency.set(q, Math.max(queryLatency.get(q) ?? 0, latency));
    const entry = queryIssue.get(q);
    if (entry) entry.done = Math.max(entry.done, completed);
    else queryIssue.set(q, { scheduled, issued, done: completed });
  }
  const { stats: latency, sorted } = latencyStats(sampleLatencies);
  const queryIds = [...queryIssue.keys()].sort((a, b) => a - b);
  const queriesIssued = queryIds.length;
  const final = queryIssue.get(queryIds[queriesIssued - 1] ?? -1) ?? { scheduled: 0, issued: 0, done: 0 };
  const p = settings.targetLatencyPercentile;
  const delays = Float64Array.from([...queryIssue.values()].map((e) => Math.max(0, e.issued - e.scheduled))).sort();

  const summary: LoadgenSummary = {
    sutName,
    scenario: settings.scenario,
    mode: settings.mode,
    result: 'INVALID',
    constraints: {
      minDurationMet: false,
      minQueriesMet: false,
      earlyStoppingMet: true,
      noFailures: failed === 0,
    },
    recommendations: [],
    earlyStopping: '',
    queriesIssued,
    samples: n,
    samplesFailed: failed,
    targetLatencyPercentile: p,
    targetPercentileLatencyNs: n ? percentile(sorted, p) : 0,
    latency,
    issueDelay: {
      p50Ns: delays.length ? percentile(delays, 0.5) : 0,
      p99Ns: delays.length ? percentile(delays, 0.99) : 0,
      maxNs: delays.length ? (delays[delays.length - 1] as number) : 0,
    },
    durationNs: {
      finalQueryScheduled: final.scheduled,
      finalQueryIssued: final.issued,
      finalQueryAllSamplesDone: final.done,
      maxLatency,
    },
    errors: log.errors,
    settings,
  };
  const minDurationNs = settings.minDurationMs * 1e6;
  const c = summary.constraints;
  const reasons: string[] = [];
  const accuracy = settings.mode === 'AccuracyOnly';
  switch (settings.scenario) {
    case 'Server': {
      summary.scheduledSamplesPerSecond = round((n - 1) / (final.scheduled / 1e9));
      summary.completedSamplesPerSecond = round((n - 1) / (final.done / 1e9));
      const over = sampleLatencies.filter((l) => l > settings.targetLatencyNs).length;
      summary.overLatencyCount = over;
      c.minDurationMet = final.scheduled >= minDurationNs;
      c.performanceConstraintsMet = summary.targetPercentileLatencyNs <= settings.targetLatencyNs;
      const es = serverEarlyStopping(queriesIssued, over, p);
      c.earlyStoppingMet = es.met;
      summary.earlyStopping = es.recommendation;
      if (!c.performanceConstraintsMet)
        reasons.push(
          `Reduce target QPS to improve latency. (${percentileLabel(p)} percentile latency ${msOf(summary.targetPercentileLatencyNs)} > target latency ${msOf(settings.targetLatencyNs)}.)`,
        );
      if (!c.minDurationMet)
        reasons.push(
          `Increase the target QPS so the loadgen pre-generates more queries. (Final query scheduled at ${sec(final.scheduled)} < minDuration ${sec(minDurationNs)}${log.endedEarly ? ': issuing ended early, see below' : ''}.)`,
        );
      if (!c.earlyStoppingMet)
        reasons.push(
          `Early stopping not met: ${over} of ${queriesIssued} queries over the target latency need at least ${es.requiredQueries} queries in all. (See Early Stopping Result.)`,
        );
      break;
    }
    case 'Offline':
      const rate = round(n / (maxLatency / 1e9));
      summary.samplesPerSecond = rate;
      c.minDurationMet = maxLatency >= minDurationNs;
      if (!c.minDurationMet) {
        // The query holds 1.1 × minDuration × expectedQps samples: it lasts minDuration when expectedQps ≥ rate / 1.1.
        reasons.push(
          `Increase expected QPS so the loadgen pre-generates a larger (coalesced) query. (${n} samples answered in ${sec(maxLatency)} < minDuration ${sec(minDurationNs)}: the SUT ran at ${rate.toFixed(1)} samples/s, expectedQps ${settings.expectedQps} needs to be at least ${Math.ceil(rate / 1.1)}.)`,
        );
      }
      break;
    case 'SingleStream':
    case 'MultiStream': {
      c.minDurationMet = final.issued >= minDurationNs;
      let perQuery = sorted;
      if (settings.scenario === 'MultiStream') {
        const q = latencyStats([...queryLatency.values()]);
        summary.queryLatency = q.stats;
        perQuery = q.sorted;
        summary.targetPercentileLatencyNs = queriesIssued ? percentile(q.sorted, p) : 0;
      } else {
        summary.qpsWithLoadgenOverhead = round((n - 1) / (final.issued / 1e9));
        summary.qpsWithoutLoadgenOverhead = round(1 / (latency.meanNs / 1e9));
      }
      const es = percentileEstimate(perQuery, p);
      c.earlyStoppingMet = es.met;
      summary.earlyStopping = es.recommendation;
      summary.earlyStoppingLatencyNs = es.estimateNs;
      if (!c.minDurationMet) {
        const capped = settings.maxQueryCount > 0 && queriesIssued >= settings.maxQueryCount;
        reasons.push(
          `Decrease the expected latency so the loadgen pre-generates more queries. (Final query issued at ${sec(final.issued)} < minDuration ${sec(minDurationNs)}${capped ? `: maxQueryCount ${settings.maxQueryCount} reached` : ''}.)`,
        );
      }
      if (!c.earlyStoppingMet)
        reasons.push(
          `Early stopping not met: ${queriesIssued} queries processed, at least ${es.minQueries} needed. (See Early Stopping Result.)`,
        );
      break;
    }
  }
  if (accuracy) {
    // Accuracy runs answer every sample once; timing constraints do not apply.
    c.minDurationMet = true;
    c.earlyStoppingMet = true;
    delete c.performanceConstraintsMet;
    reasons.length = 0;
    if (log.label && labelOf) {
      let right = 0;
      let known = 0;
      for (let i = 0; i < n; i++) {
        const truth = labelOf(log.sample[i] as number);
        if (truth === undefined) continue;
        known += 1;
        if (log.label[i] === truth) right += 1;
      }
      if (known > 0) summary.accuracy = right / known;
    }
  }
  // Offline has one query: its minQueryCount counts samples (LoadGen's min_sample_count).
  c.minQueriesMet =
    accuracy ||
    (settings.scenario === 'Offline' ? n >= settings.minQueryCount : queriesIssued >= settings.minQueryCount);
  if (!c.minQueriesMet) {
    const counted = settings.scenario === 'Offline' ? `${n} samples` : `${queriesIssued} queries`;
    reasons.push(
      `The test exited early, before enough queries were issued. See the detailed log for why this may have occurred. (${counted} issued < minQueryCount ${settings.minQueryCount}${log.endedEarly ? `: ${log.endedEarly}` : ''}.)`,
    );
  }
  if (!c.noFailures) {
    const [first] = Object.entries(log.errors).sort((a, b) => b[1] - a[1]);
    reasons.push(
      `${failed} of ${n} samples failed${first ? ` (most often: ${first[0]}, ${first[1]}×)` : ''}: fix the SUT or its URL.`,
    );
  }
  if (log.endedEarly) summary.endedEarly = log.endedEarly;
  summary.recommendations = reasons;
  // Every unmet constraint above pushed exactly one reason, and only an unmet one did.
  summary.result = reasons.length === 0 ? 'VALID' : 'INVALID';
  return summary;
}

/** mlperf_log_summary.txt, as LoadGen lays it out. */
export function formatSummary(s: LoadgenSummary): string {
  const lines: string[] = [];
  const add = (label: string, value?: string | number) =>
    lines.push(value === undefined ? label : `${label}${typeof value === 'number' ? fmt(value) : value}`);
  const pct = Math.round(s.targetLatencyPercentile * 100);
  add('================================================');
  add('MLPerf Results Summary');
  add('================================================');
  add('SUT name : ', s.sutName);
  add('Scenario : ', s.scenario);
  add('Mode     : ', s.mode);
  switch (s.scenario) {
    case 'SingleStream':
    case 'MultiStream':
      add(`${pct}th percentile latency (ns) : `, s.targetPercentileLatencyNs);
      break;
    case 'Server':
      add('Completed samples per second    : ', (s.completedSamplesPerSecond ?? 0).toFixed(2));
      break;
    case 'Offline':
      add('Samples per second: ', (s.samplesPerSecond ?? 0).toFixed(2));
      break;
  }
  const c = s.constraints;
  add('Result is : ', s.result);
  if (c.performanceConstraintsMet !== undefined)
    add('  Performance constraints satisfied : ', c.performanceConstraintsMet ? 'Yes' : 'NO');
  add('  Min duration satisfied : ', c.minDurationMet ? 'Yes' : 'NO');
  add('  Min queries satisfied : ', c.minQueriesMet ? 'Yes' : 'NO');
  add('  Early stopping satisfied: ', c.earlyStoppingMet ? 'Yes' : 'NO');
  if (s.samplesFailed > 0) add('  Failed samples : ', s.samplesFailed);
  if (s.recommendations.length) {
    add('Recommendations:');
    for (const r of s.recommendations) add(` * ${r}`);
  }
  if (s.endedEarly) add('Ending early: ', s.endedEarly);
  if (s.scenario !== 'Offline' && s.earlyStopping) {
    add('Early Stopping Result:');
    add(s.earlyStopping);
  }
  if (s.accuracy !== undefined) add('Accuracy : ', `${(s.accuracy * 100).toFixed(3)}%`);
  add('');
  add('================================================');
  add('Additional Stats');
  add('================================================');
  if (s.scenario === 'SingleStream') {
    add('QPS w/ loadgen overhead         : ', (s.qpsWithLoadgenOverhead ?? 0).toFixed(2));
    add('QPS w/o loadgen overhead        : ', (s.qpsWithoutLoadgenOverhead ?? 0).toFixed(2));
    add('');
  } else if (s.scenario === 'Server') {
    add('Scheduled samples per second    : ', (s.scheduledSamplesPerSecond ?? 0).toFixed(2));
    add('Over-latency queries            : ', s.overLatencyCount ?? 0);
    add('');
  }
  const block = (l: LatencyStats) => {
    add('Min latency (ns)                : ', l.minNs);
    add('Max latency (ns)                : ', l.maxNs);
    add('Mean latency (ns)               : ', l.meanNs);
    for (const [label, value] of Object.entries(l.percentilesNs)) add(`${label} percentile latency (ns)   : `, value);
  };
  if (s.queryLatency) {
    add('Per-query latency:  ');
    block(s.queryLatency);
  } else block(s.latency);
  add('');
  add('Issue delay p50 / p99 / max (ns): ', `${s.issueDelay.p50Ns} / ${s.issueDelay.p99Ns} / ${s.issueDelay.maxNs}`);
  add('');
  add('================================================');
  add('Test Parameters Used');
  add('================================================');
  const t = s.settings;
  add('samples_per_query : ', t.samplesPerQuery);
  add('target_qps : ', t.scenario === 'Offline' ? t.expectedQps : t.targetQps);
  add('target_latency (ns): ', t.targetLatencyNs);
  add('max_async_queries : ', effectiveMaxAsyncQueries(t));
  add('min_duration (ms): ', t.minDurationMs);
  add('max_duration (ms): ', t.maxDurationMs);
  add('min_query_count : ', t.minQueryCount);
  add('max_query_count : ', t.maxQueryCount);
  add('qsl_rng_seed : ', t.qslRngSeed);
  add('sample_index_rng_seed : ', t.sampleIndexRngSeed);
  add('schedule_rng_seed : ', t.scheduleRngSeed);
  add('performance_sample_count : ', t.performanceSampleCount);
  add('users : ', t.users);
  return lines.join('\n') + '\n';
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

export { percentileLabel };
