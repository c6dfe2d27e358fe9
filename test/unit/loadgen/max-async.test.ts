/**
 * maxAsyncQueries as the official LoadGen applies it (issue_query_controller.cc): in a Server
 * performance run, right after a query is issued, more than maxAsyncQueries outstanding ends the
 * issuing ("Too many outstanding queries"); the queries already issued are answered and counted,
 * the run ends short and its summary says so. Issuing never waits for an answer (that would close
 * the loop). The other scenarios' effective value is 1; accuracy runs ignore it. maxDurationMs ends
 * issuing the same way, in every scenario, once a query has been issued past it.
 */
import { describe, expect, it } from '@jest/globals';
import {
  computeSummary,
  effectiveMaxAsyncQueries,
  FixedDelaySut,
  formatSummary,
  resolveSettings,
  runLoadgen,
  serverSchedule,
  SyntheticQsl,
} from '../../../src/loadgen/index.js';

describe('maxAsyncQueries', () => {
  it('Server: the query that makes more than maxAsyncQueries outstanding is issued, then issuing ends', async () => {
    // 200 queries/s offered to a SUT that answers after 2 s: no answer arrives before the sixth
    // query is issued (~30 ms in), so exactly maxAsyncQueries + 1 = 6 queries go out.
    const settings = resolveSettings({ scenario: 'Server', targetQps: 200, minDurationMs: 1000, maxAsyncQueries: 5 });
    const sut = new FixedDelaySut({ delayMs: 2000 });
    const result = await runLoadgen({ settings, sut, qsl: new SyntheticQsl(64) });
    const summary = computeSummary(result.log, settings, sut.name);

    expect(result.done).toBe(true); // no further segment: the run is over
    expect(summary.queriesIssued).toBe(6);
    expect(sut.answered).toBe(6); // the issued ones are answered, not dropped
    expect(summary.samplesFailed).toBe(0);
    // Issued on the schedule (open loop): the six scheduled times are the schedule's first six.
    expect(result.log.scheduledNs).toEqual(Array.from(serverSchedule(settings).slice(0, 6)).map(Math.round));
    expect(summary.endedEarly).toMatch(
      /^Too many outstanding queries: issued 6, outstanding 6 > maxAsyncQueries 5 at /,
    );
    expect(summary.result).toBe('INVALID');
    expect(summary.recommendations.join('\n')).toMatch(/minDuration 1\.000 s: issuing ended early, see below/);
    expect(summary.recommendations.join('\n')).toMatch(/6 queries issued < minQueryCount 100: Too many outstanding/);
    const text = formatSummary(summary);
    expect(text).toContain('Ending early: Too many outstanding queries: issued 6');
    expect(text).toContain('max_async_queries : 5');
  });

  it('Server with maxAsyncQueries 0 (the default) issues the whole schedule whatever is outstanding', async () => {
    const settings = resolveSettings({ scenario: 'Server', targetQps: 400, minDurationMs: 300, minQueryCount: 50 });
    const sut = new FixedDelaySut({ delayMs: 500 });
    const result = await runLoadgen({ settings, sut, qsl: new SyntheticQsl(64) });
    const summary = computeSummary(result.log, settings, sut.name);
    expect(summary.queriesIssued).toBe(serverSchedule(settings).length);
    expect(summary.endedEarly).toBeUndefined();
  });

  it('accuracy mode ignores it: every loaded sample is answered once', async () => {
    const settings = resolveSettings({
      scenario: 'Server',
      mode: 'AccuracyOnly',
      targetQps: 1000,
      maxAsyncQueries: 1,
    });
    const sut = new FixedDelaySut({ delayMs: 50 });
    const result = await runLoadgen({ settings, sut, qsl: new SyntheticQsl(40) });
    const summary = computeSummary(result.log, settings, sut.name);
    expect(summary.samples).toBe(40);
    expect(new Set(result.log.sample).size).toBe(40);
    expect(summary.endedEarly).toBeUndefined();
  });

  it('effective value: the setting in Server, 1 in the other scenarios (as LoadGen prints it)', () => {
    expect(effectiveMaxAsyncQueries(resolveSettings({ scenario: 'Server', maxAsyncQueries: 7 }))).toBe(7);
    expect(effectiveMaxAsyncQueries(resolveSettings({ scenario: 'Server' }))).toBe(0);
    for (const scenario of ['Offline', 'SingleStream', 'MultiStream'] as const)
      expect(effectiveMaxAsyncQueries(resolveSettings({ scenario, maxAsyncQueries: 7 }))).toBe(1);
  });
});

describe('maxDurationMs', () => {
  /** LoadGen checks after each issue: every query but the last was issued within the bound, the last past it. */
  function expectEndedAtBound(issuedNs: number[], boundMs: number): void {
    const queries = [...new Set(issuedNs)];
    expect(queries.slice(0, -1).every((t) => t <= boundMs * 1e6)).toBe(true);
    expect(queries.at(-1)!).toBeGreaterThan(boundMs * 1e6);
  }

  it('Server: issuing ends with the first query issued past it, the summary says so', async () => {
    const settings = resolveSettings({ scenario: 'Server', targetQps: 200, minDurationMs: 5000, maxDurationMs: 300 });
    const sut = new FixedDelaySut({ delayMs: 1 });
    const result = await runLoadgen({ settings, sut, qsl: new SyntheticQsl(64) });
    const summary = computeSummary(result.log, settings, sut.name);
    expect(result.done).toBe(true);
    expectEndedAtBound(result.log.issuedNs, 300);
    expect(summary.queriesIssued).toBeLessThan(serverSchedule(settings).length);
    expect(summary.endedEarly).toMatch(/^Max test duration reached: maxDurationMs 300 at \d+\.\d{3} s$/);
    expect(summary.result).toBe('INVALID');
    expect(formatSummary(summary)).toContain('Ending early: Max test duration reached');
  });

  it('SingleStream: the same, one query at a time', async () => {
    const settings = resolveSettings({ scenario: 'SingleStream', minDurationMs: 5000, maxDurationMs: 200 });
    const sut = new FixedDelaySut({ delayMs: 5 });
    const result = await runLoadgen({ settings, sut, qsl: new SyntheticQsl(64) });
    const summary = computeSummary(result.log, settings, sut.name);
    expectEndedAtBound(result.log.issuedNs, 200);
    expect(summary.endedEarly).toMatch(/^Max test duration reached: maxDurationMs 200 at /);
    expect(summary.recommendations[0]).toMatch(/^Decrease the expected latency .*< minDuration 5\.000 s/);
  });
});
