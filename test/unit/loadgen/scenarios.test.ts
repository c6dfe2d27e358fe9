/**
 * Whole runs against in-process SUTs with known behaviour (real time, a second or two each):
 * Server against a slow SUT is INVALID and counts every late answer; Offline and SingleStream
 * against the fixed-delay SUT give the figures its delay implies; segments add up to the whole run.
 */
import { describe, expect, it } from '@jest/globals';
import {
  computeSummary,
  FixedDelaySut,
  formatSummary,
  mergeDetailLogs,
  NullSut,
  resolveSettings,
  runLoadgen,
  serverSchedule,
  SyntheticQsl,
  type DetailLog,
  type Segment,
  type TestSettingsInput,
} from '../../../src/loadgen/index.js';

async function run(input: TestSettingsInput, sut: FixedDelaySut | NullSut) {
  const settings = resolveSettings(input);
  const result = await runLoadgen({ settings, sut, qsl: new SyntheticQsl(256) });
  return { result, summary: computeSummary(result.log, settings, sut.name) };
}

describe('LoadGen scenarios', () => {
  it('Server against a SUT slower than the offered load: INVALID, late answers counted, none dropped', async () => {
    // 200 queries/s offered, the SUT serves one at a time in 10 ms (100/s): its queue grows.
    const sut = new FixedDelaySut({ delayMs: 10, concurrency: 1 });
    const { result, summary } = await run(
      { scenario: 'Server', targetQps: 200, targetLatencyNs: 50e6, minDurationMs: 1000, minQueryCount: 100 },
      sut,
    );
    expect(result.done).toBe(true);
    expect(summary.result).toBe('INVALID');
    expect(summary.constraints.performanceConstraintsMet).toBe(false);
    expect(summary.recommendations[0]).toMatch(/^Reduce target QPS to improve latency\. \(99\.00 percentile latency /);
    // every query was answered and counted, late ones included (no coordinated omission)
    expect(summary.samplesFailed).toBe(0);
    expect(summary.samples).toBe(summary.queriesIssued);
    expect(sut.answered).toBe(summary.queriesIssued);
    const latencies = result.log.completedNs.map((c, i) => c - (result.log.scheduledNs[i] as number));
    expect(summary.overLatencyCount).toBe(latencies.filter((l) => l > 50e6).length);
    expect(summary.overLatencyCount).toBeGreaterThan(summary.queriesIssued / 3);
    // latency from the scheduled time grows with the queue: the last answers wait about a second
    expect(summary.latency.maxNs).toBeGreaterThan(500e6);
    expect(summary.targetPercentileLatencyNs).toBeGreaterThan(50e6);
    const text = formatSummary(summary);
    expect(text).toContain('Result is : INVALID');
    expect(text).toContain('  Performance constraints satisfied : NO');
    expect(text).toContain('Early Stopping Result:');
  });

  it('Server against a fast SUT: VALID, scheduled QPS near the target, latency near the delay', async () => {
    const sut = new FixedDelaySut({ delayMs: 2 });
    const settings = { scenario: 'Server', targetQps: 500, targetLatencyNs: 500e6, minDurationMs: 1500 } as const; // a generous bound: the machine is shared
    const { result, summary } = await run(settings, sut);
    expect(summary.queriesIssued).toBe(serverSchedule(resolveSettings(settings)).length);
    // What the answers' times imply, whatever this (shared) machine's stalls were: the verdict is
    // checked against the over-latency count, never asserted as a wall-clock outcome.
    const latencies = result.log.completedNs.map((c, i) => c - (result.log.scheduledNs[i] as number));
    expect(summary.overLatencyCount).toBe(latencies.filter((l) => l > 500e6).length);
    expect(summary.constraints).toMatchObject({ minDurationMet: true, minQueriesMet: true });
    const allMet = Object.values(summary.constraints).every(Boolean);
    expect(summary.result).toBe(allMet ? 'VALID' : 'INVALID');
    // The schedule is the seeded Poisson process: its rate is the target's, not the machine's.
    expect(summary.scheduledSamplesPerSecond).toBeGreaterThan(400);
    expect(summary.scheduledSamplesPerSecond).toBeLessThan(600);
    // Physics: no answer before the SUT's delay.
    expect(summary.latency.percentilesNs['50.00']).toBeGreaterThanOrEqual(2e6);
  });

  it('Offline against the fixed-delay SUT: one query, samples/s = concurrency / delay', async () => {
    // 4 samples at a time, 10 ms each: 400 samples/s; the query holds max(100, 1.1 × 1 s × 400) = 440 samples.
    const sut = new FixedDelaySut({ delayMs: 10, concurrency: 4 });
    const { summary } = await run({ scenario: 'Offline', expectedQps: 400, minDurationMs: 1000 }, sut);
    expect(summary.queriesIssued).toBe(1);
    expect(summary.samples).toBe(440);
    // Above 400 would mean no delay (below is a loaded machine firing the 10 ms timers late).
    expect(summary.samplesPerSecond).toBeLessThanOrEqual(401);
    expect(summary.result).toBe('VALID');
    expect(formatSummary(summary)).toMatch(/Samples per second: \d+\.\d\d/);
  });

  it("Offline that ends before minDuration is INVALID with LoadGen's recommendation", async () => {
    const { summary } = await run({ scenario: 'Offline', expectedQps: 100, minDurationMs: 1000 }, new NullSut());
    expect(summary.result).toBe('INVALID');
    expect(summary.constraints.minDurationMet).toBe(false);
    expect(summary.recommendations[0]).toMatch(/Increase expected QPS/);
  });

  it('SingleStream against the fixed-delay SUT: one query outstanding, p90 ≈ the delay, early stopping met', async () => {
    const sut = new FixedDelaySut({ delayMs: 5 });
    const { result, summary } = await run({ scenario: 'SingleStream', minDurationMs: 1000, minQueryCount: 100 }, sut);
    // never two queries in flight: each is issued after the previous one completed
    for (let i = 1; i < result.log.query.length; i++)
      expect(result.log.issuedNs[i]).toBeGreaterThanOrEqual(result.log.completedNs[i - 1] as number);
    expect(summary.queriesIssued).toBeGreaterThan(100);
    expect(summary.targetLatencyPercentile).toBe(0.9);
    // Physics first (no answer before the delay, never more than 1/delay queries a second), then
    // bounds generous enough for a shared machine at load average 15 on 2 cores (p90 was 9+ ms there).
    expect(summary.targetPercentileLatencyNs).toBeGreaterThanOrEqual(5e6);
    expect(summary.earlyStoppingLatencyNs).toBeGreaterThanOrEqual(summary.targetPercentileLatencyNs);
    expect(summary.qpsWithLoadgenOverhead).toBeLessThanOrEqual(200);
    // one query outstanding: QPS with overhead is at most 1 / mean latency (the issue gaps add to it)
    expect(summary.qpsWithLoadgenOverhead).toBeLessThanOrEqual((summary.qpsWithoutLoadgenOverhead as number) * 1.01);
    expect(summary.result).toBe('VALID');
    expect(formatSummary(summary)).toContain('90th percentile latency (ns) : ');
  });

  it('MultiStream: 8 contiguous samples per query, latency of the slowest sample', async () => {
    const sut = new FixedDelaySut({ delayMs: 2, concurrency: 4 });
    const { result, summary } = await run({ scenario: 'MultiStream', minDurationMs: 300, minQueryCount: 30 }, sut);
    expect(summary.samples).toBe(summary.queriesIssued * 8);
    const first = result.log.sample.slice(0, 8);
    expect(first.map((s) => (s - (first[0] as number) + 256) % 256)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // 8 samples through 4 servers of 2 ms: two rounds
    expect(summary.queryLatency?.percentilesNs['50.00']).toBeGreaterThanOrEqual(4e6);
    // 30 queries are below the 662 early stopping needs at p = 0.99
    expect(summary.constraints.earlyStoppingMet).toBe(false);
  });

  it('a Server run in segments issues exactly the queries of the whole run, each once', async () => {
    const settings = resolveSettings({ scenario: 'Server', targetQps: 400, minDurationMs: 1200, minQueryCount: 10 });
    const qsl = new SyntheticQsl(64);
    const whole = await runLoadgen({ settings, sut: new NullSut(), qsl });
    const logs: DetailLog[] = [];
    let segment: Segment = { index: 0, fromNs: 0, toNs: 400e6, firstQuery: 0 };
    for (;;) {
      const r = await runLoadgen({ settings, sut: new NullSut(), qsl, segment });
      logs.push(r.log);
      if (r.done) break;
      segment = { ...r.next, toNs: r.next.fromNs + 400e6 };
    }
    expect(logs.length).toBe(4); // 0–0.4, 0.4–0.8, 0.8–1.2 s, and the query scheduled at or after 1.2 s
    const merged = mergeDetailLogs([...logs, logs[1] as DetailLog]); // a segment logged twice counts once
    expect(merged.query).toEqual(whole.log.query);
    expect(merged.sample).toEqual(whole.log.sample);
    expect(merged.scheduledNs).toEqual(whole.log.scheduledNs);
  });

  it('cancellation stops issuing at once', async () => {
    const settings = resolveSettings({ scenario: 'Server', targetQps: 200, minDurationMs: 60_000 });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 300);
    const r = await runLoadgen({
      settings,
      sut: new FixedDelaySut({ delayMs: 1 }),
      qsl: new SyntheticQsl(),
      signal: controller.signal,
    });
    expect(r.cancelled).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000); // 300 ms + stop; generous for a loaded machine
    expect(r.log.query.length).toBeLessThan(150);
  });

  it('settings: LoadGen defaults per scenario and errors that name the field', () => {
    expect(resolveSettings({ scenario: 'Server' })).toMatchObject({
      targetQps: 1,
      targetLatencyNs: 100e6,
      targetLatencyPercentile: 0.99,
      minDurationMs: 10_000,
      minQueryCount: 100,
      maxAsyncQueries: 0,
    });
    expect(resolveSettings({ scenario: 'SingleStream' }).targetLatencyPercentile).toBe(0.9);
    expect(resolveSettings({ scenario: 'MultiStream' })).toMatchObject({ samplesPerQuery: 8, minQueryCount: 662 });
    expect(() => resolveSettings({ scenario: 'Server', targetQps: 0 })).toThrow(
      'loadgen settings.targetQps: must be a number > 0, got 0',
    );
    expect(() => resolveSettings({ scenario: 'Batch' as never })).toThrow(/settings.scenario: must be one of/);
    expect(() => resolveSettings({ scenario: 'Server', qps: 3 } as never)).toThrow(
      /settings.qps: is not a LoadGen setting/,
    );
    expect(() => resolveSettings({ scenario: 'Server', targetLatencyPercentile: 1 })).toThrow(
      /targetLatencyPercentile/,
    );
    expect(() => resolveSettings({ scenario: 'Server', samplesPerQuery: 2 })).toThrow(/one sample per query/);
  });
});
