/**
 * Every INVALID verdict names its reason(s) in the summary, for every scenario: one case per
 * unmet constraint, each from a detail log whose figures make exactly that constraint fail (the
 * summary is pure, so the logs are written here), the reason printed under "Recommendations:"
 * with the figures it failed on; a VALID run has none. Then the case the issue found: an Offline
 * run over HTTP (against the fixed-delay OIP-v2 server) sized too small says so.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  computeSummary,
  emptyDetailLog,
  formatSummary,
  HttpOipSut,
  resolveSettings,
  runLoadgen,
  SyntheticQsl,
  type DetailLog,
  type TestScenario,
  type TestSettingsInput,
} from '../../../src/loadgen/index.js';
import { startFixedDelayServer, type FixedDelayServer } from '../../../src/loadgen/fixed-delay-server.js';

const MS = 1e6;

interface QueryRow {
  scheduled: number;
  issued?: number;
  /** Completion time of each of the query's samples. */
  completed: number[];
  failed?: string;
}

function detailLog(scenario: TestScenario, queries: QueryRow[]): DetailLog {
  const log = emptyDetailLog(scenario, 0);
  queries.forEach((q, id) => {
    for (const done of q.completed) {
      log.query.push(id);
      log.sample.push(log.query.length % 16);
      log.user.push(0);
      log.scheduledNs.push(q.scheduled);
      log.issuedNs.push(q.issued ?? q.scheduled);
      log.completedNs.push(done);
      log.ok.push(q.failed ? 0 : 1);
      if (q.failed) log.errors[q.failed] = (log.errors[q.failed] ?? 0) + 1;
    }
  });
  return log;
}

/** Server: n queries every gap ns, answered latency(i) ns after their scheduled time. */
const server = (n: number, gapNs: number, latency: (i: number) => number, failed?: (i: number) => string | undefined) =>
  detailLog(
    'Server',
    Array.from({ length: n }, (_, i) => ({
      scheduled: i * gapNs,
      completed: [i * gapNs + latency(i)],
      failed: failed?.(i),
    })),
  );

/** SingleStream / MultiStream: n queries back to back, each taking durationNs. */
const stream = (scenario: TestScenario, n: number, samples: number, durationNs: number) =>
  detailLog(
    scenario,
    Array.from({ length: n }, (_, i) => ({
      scheduled: i * durationNs,
      completed: Array.from({ length: samples }, () => (i + 1) * durationNs),
    })),
  );

/** Offline: one query of n samples issued at 0, answered evenly until endNs. */
const offline = (n: number, endNs: number) =>
  detailLog('Offline', [{ scheduled: 0, completed: Array.from({ length: n }, (_, i) => ((i + 1) * endNs) / n) }]);

const serverSettings: TestSettingsInput = {
  scenario: 'Server',
  targetQps: 500,
  targetLatencyNs: 100 * MS,
  minDurationMs: 1000,
  minQueryCount: 100,
};

function summarise(input: TestSettingsInput, log: DetailLog) {
  const summary = computeSummary(log, resolveSettings(input), 'test-sut');
  return { summary, text: formatSummary(summary) };
}

describe('every INVALID verdict names its reason(s) in the summary', () => {
  it('a VALID run has no reasons and no Recommendations section', () => {
    const { summary, text } = summarise(
      serverSettings,
      server(1000, 2 * MS, () => MS),
    );
    expect(summary.result).toBe('VALID');
    expect(summary.recommendations).toEqual([]);
    expect(text).not.toContain('Recommendations:');
  });

  it.each<[string, TestSettingsInput, () => DetailLog, RegExp[]]>([
    [
      'Server, latency constraint (and early stopping with it)',
      serverSettings,
      () => server(1000, 2 * MS, () => 200 * MS),
      [
        /^Reduce target QPS to improve latency\. \(99\.00 percentile latency 200\.00 ms > target latency 100\.00 ms\.\)$/,
        /^Early stopping not met: 1000 of 1000 queries over the target latency need at least \d+ queries in all\./,
      ],
    ],
    [
      'Server, min duration',
      serverSettings,
      () => server(1001, 0.5 * MS, () => MS),
      [
        /^Increase the target QPS so the loadgen pre-generates more queries\. \(Final query scheduled at 0\.500 s < minDuration 1\.000 s\.\)$/,
      ],
    ],
    [
      'Server, early stopping alone (p99 within the bound, 9 late answers in 1,000)',
      serverSettings,
      () => server(1000, 2 * MS, (i) => (i % 100 === 50 && i < 900 ? 150 * MS : MS)),
      [/^Early stopping not met: 9 of 1000 queries over the target latency need at least \d{4,} queries in all\./],
    ],
    [
      'Server, min query count',
      { ...serverSettings, minQueryCount: 2000 },
      () => server(1000, 2 * MS, () => MS),
      [/^The test exited early, before enough queries were issued\..*\(1000 queries issued < minQueryCount 2000\.\)$/],
    ],
    [
      'Server, failed samples',
      serverSettings,
      () =>
        server(
          1000,
          2 * MS,
          () => MS,
          (i) => (i < 3 ? '500: boom' : undefined),
        ),
      [/^3 of 1000 samples failed \(most often: 500: boom, 3×\): fix the SUT or its URL\.$/],
    ],
    [
      'Offline, min duration (the query was sized too small for the SUT)',
      { scenario: 'Offline', expectedQps: 400, minDurationMs: 1000 },
      () => offline(440, 500 * MS),
      [
        /^Increase expected QPS so the loadgen pre-generates a larger \(coalesced\) query\. \(440 samples answered in 0\.500 s < minDuration 1\.000 s: the SUT ran at 880\.0 samples\/s, expectedQps 400 needs to be at least 800\.\)$/,
      ],
    ],
    [
      'Offline, min sample count',
      { scenario: 'Offline', expectedQps: 400, minDurationMs: 1000, minQueryCount: 500 },
      () => offline(440, 1200 * MS),
      [/\(440 samples issued < minQueryCount 500\.\)$/],
    ],
    [
      'SingleStream, min duration (maxQueryCount reached first)',
      { scenario: 'SingleStream', minDurationMs: 1000, minQueryCount: 100, maxQueryCount: 200 },
      () => stream('SingleStream', 200, 1, 2 * MS),
      [
        /^Decrease the expected latency so the loadgen pre-generates more queries\. \(Final query issued at 0\.398 s < minDuration 1\.000 s: maxQueryCount 200 reached\.\)$/,
      ],
    ],
    [
      'SingleStream, early stopping (fewer than 64 queries at p90)',
      { scenario: 'SingleStream', minDurationMs: 100, minQueryCount: 10 },
      () => stream('SingleStream', 50, 1, 5 * MS),
      [/^Early stopping not met: 50 queries processed, at least 64 needed\./],
    ],
    [
      'MultiStream, early stopping (fewer than 662 queries at p99)',
      { scenario: 'MultiStream', minDurationMs: 100, minQueryCount: 10 },
      () => stream('MultiStream', 100, 8, 5 * MS),
      [/^Early stopping not met: 100 queries processed, at least 662 needed\./],
    ],
  ])('%s', (_, settings, makeLog, expected) => {
    const { summary, text } = summarise(settings, makeLog());
    expect(summary.result).toBe('INVALID');
    expect(summary.recommendations).toHaveLength(expected.length);
    expected.forEach((pattern, i) => expect(summary.recommendations[i]).toMatch(pattern));
    expect(text).toContain('Result is : INVALID');
    expect(text).toContain('Recommendations:');
    for (const reason of summary.recommendations) expect(text).toContain(` * ${reason}\n`);
  });
});

describe('the HTTP SUT, Offline', () => {
  let httpServer: FixedDelayServer;
  beforeAll(async () => {
    httpServer = await startFixedDelayServer({ delayMs: 2, concurrency: 8 });
  });
  afterAll(async () => {
    await httpServer.close();
  });

  it('an Offline run over HTTP that ends INVALID prints why', async () => {
    // expectedQps 50 sizes the query at max(100, 1.1 × 1 s × 50) = 100 samples; the server answers
    // up to 8 × 500 = 4,000 samples/s, so the query is done long before the 1 s minimum duration.
    const qsl = new SyntheticQsl(64);
    const sut = new HttpOipSut({ url: httpServer.url, model: 'm', qsl, batchSize: 8 });
    const settings = resolveSettings({ scenario: 'Offline', expectedQps: 50, minDurationMs: 1000 });
    try {
      const result = await runLoadgen({ settings, sut, qsl });
      const summary = computeSummary(result.log, settings, sut.name);
      expect(summary.samplesFailed).toBe(0);
      expect(summary.result).toBe('INVALID');
      expect(summary.constraints.minDurationMet).toBe(false);
      const text = formatSummary(summary);
      expect(text).toMatch(
        /Recommendations:\n \* Increase expected QPS so the loadgen pre-generates a larger \(coalesced\) query\. \(100 samples answered in [\d.]+ s < minDuration 1\.000 s: the SUT ran at [\d.]+ samples\/s, expectedQps 50 needs to be at least \d+\.\)\n/,
      );
    } finally {
      await sut.close?.();
    }
  });
});
