/**
 * LoadGen test settings with the names and defaults of MLPerf's `test_settings.h` (camel-cased),
 * resolved per scenario. Pure and JSON-serialisable: workflow code imports this file.
 *
 *   scenario             SingleStream | MultiStream | Server | Offline
 *   mode                 PerformanceOnly | AccuracyOnly
 *   targetQps            Server: Poisson arrival rate (server_target_qps, default 1)
 *   targetLatencyNs      Server: latency bound (server_target_latency_ns, default 100 ms)
 *   targetLatencyPercentile   0.99 (Server, MultiStream), 0.90 (SingleStream)
 *   expectedQps          Offline: sizes the one query (offline_expected_qps, default 1)
 *   expectedLatencyNs    SingleStream/MultiStream: sizes the generated queries (1 ms / 8 ms)
 *   samplesPerQuery      8 for MultiStream (multi_stream_samples_per_query), else 1
 *   minDurationMs        10 000 (min_duration_ms); maxDurationMs 0 = none
 *   minQueryCount        100 (min_query_count); maxQueryCount 0 = none
 *   maxAsyncQueries      Server: 0 = unbounded (server_max_async_queries); see effectiveMaxAsyncQueries
 *   qslRngSeed, sampleIndexRngSeed, scheduleRngSeed   0 (the official mlperf.conf sets its own)
 *   performanceSampleCount   samples loaded for a performance run (0 = the QSL's own count)
 *   users                N clients sharing the one schedule (see README of the loadgen folder)
 */

export const scenarios = ['SingleStream', 'MultiStream', 'Server', 'Offline'] as const;
export type TestScenario = (typeof scenarios)[number];
export const modes = ['PerformanceOnly', 'AccuracyOnly'] as const;
export type TestMode = (typeof modes)[number];

export interface TestSettings {
  scenario: TestScenario;
  mode: TestMode;
  targetQps: number;
  targetLatencyNs: number;
  targetLatencyPercentile: number;
  expectedQps: number;
  expectedLatencyNs: number;
  samplesPerQuery: number;
  minDurationMs: number;
  maxDurationMs: number;
  minQueryCount: number;
  maxQueryCount: number;
  maxAsyncQueries: number;
  qslRngSeed: number;
  sampleIndexRngSeed: number;
  scheduleRngSeed: number;
  performanceSampleCount: number;
  users: number;
}

export type TestSettingsInput = Partial<TestSettings> & { scenario: TestScenario };

/** A setting that cannot run: `field` names it. */
export class LoadgenSettingsError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`loadgen settings.${field}: ${message}`);
    this.name = 'LoadgenSettingsError';
  }
}

const MS = 1_000_000;

/** LoadGen's defaults for a scenario (test_settings.h). */
export function defaultSettings(scenario: TestScenario): TestSettings {
  return {
    scenario,
    mode: 'PerformanceOnly',
    targetQps: 1,
    targetLatencyNs: 100 * MS,
    targetLatencyPercentile: scenario === 'SingleStream' ? 0.9 : 0.99,
    expectedQps: 1,
    expectedLatencyNs: scenario === 'MultiStream' ? 8 * MS : 1 * MS,
    samplesPerQuery: scenario === 'MultiStream' ? 8 : 1,
    minDurationMs: 10_000,
    maxDurationMs: 0,
    minQueryCount: scenario === 'MultiStream' ? 662 : 100,
    maxQueryCount: 0,
    maxAsyncQueries: 0,
    qslRngSeed: 0,
    sampleIndexRngSeed: 0,
    scheduleRngSeed: 0,
    performanceSampleCount: 0,
    users: 1,
  };
}

/** Fills in LoadGen's defaults and checks every field; throws LoadgenSettingsError naming the field. */
export function resolveSettings(input: TestSettingsInput): TestSettings {
  if (!input || typeof input !== 'object') throw new LoadgenSettingsError('scenario', 'settings must be an object');
  if (!(scenarios as readonly string[]).includes(input.scenario))
    throw new LoadgenSettingsError(
      'scenario',
      `must be one of ${scenarios.join(', ')}, got ${JSON.stringify(input.scenario)}`,
    );
  const s: TestSettings = { ...defaultSettings(input.scenario) };
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (!(key in s)) throw new LoadgenSettingsError(key, 'is not a LoadGen setting');
    (s as unknown as Record<string, unknown>)[key] = value;
  }
  if (!(modes as readonly string[]).includes(s.mode))
    throw new LoadgenSettingsError('mode', `must be one of ${modes.join(', ')}, got ${JSON.stringify(s.mode)}`);
  const positive = (field: keyof TestSettings) => {
    const v = s[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      throw new LoadgenSettingsError(field, `must be a number > 0, got ${JSON.stringify(v)}`);
  };
  const nonNegativeInt = (field: keyof TestSettings) => {
    const v = s[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      throw new LoadgenSettingsError(field, `must be an integer >= 0, got ${JSON.stringify(v)}`);
  };
  positive('targetQps');
  positive('targetLatencyNs');
  positive('expectedQps');
  positive('expectedLatencyNs');
  if (!(s.targetLatencyPercentile > 0 && s.targetLatencyPercentile < 1))
    throw new LoadgenSettingsError(
      'targetLatencyPercentile',
      `must be between 0 and 1 (exclusive), got ${s.targetLatencyPercentile}`,
    );
  for (const f of [
    'minDurationMs',
    'maxDurationMs',
    'minQueryCount',
    'maxQueryCount',
    'maxAsyncQueries',
    'qslRngSeed',
    'sampleIndexRngSeed',
    'scheduleRngSeed',
    'performanceSampleCount',
  ] as const)
    nonNegativeInt(f);
  nonNegativeInt('samplesPerQuery');
  if (s.samplesPerQuery < 1) throw new LoadgenSettingsError('samplesPerQuery', 'must be at least 1');
  if (s.scenario !== 'MultiStream' && s.scenario !== 'Offline' && s.samplesPerQuery !== 1)
    throw new LoadgenSettingsError('samplesPerQuery', `${s.scenario} sends one sample per query`);
  nonNegativeInt('users');
  if (s.users < 1) throw new LoadgenSettingsError('users', 'must be at least 1');
  if (s.maxQueryCount > 0 && s.maxQueryCount < s.minQueryCount && s.mode === 'PerformanceOnly')
    throw new LoadgenSettingsError(
      'maxQueryCount',
      `(${s.maxQueryCount}) is below minQueryCount (${s.minQueryCount}): the run could never be VALID`,
    );
  return s;
}

/** Offline: samples in the one query, max(minQueryCount, 1.1 × minDuration × expectedQps) (LoadGen's rule). */
export function offlineSampleCount(s: TestSettings): number {
  const byDuration = Math.floor(1.1 * (s.minDurationMs / 1000) * s.expectedQps + 1e-9); // truncated, as LoadGen converts to an integer
  const n = Math.max(s.minQueryCount, byDuration);
  return s.maxQueryCount > 0 ? Math.min(n, s.maxQueryCount) : n;
}

/**
 * LoadGen's effective max_async_queries (test_settings_internal.cc): the setting for Server, 1 for
 * the other scenarios (one query outstanding in the streams; Offline's single query). In Server a
 * performance run that has more than this many queries outstanding right after issuing one stops
 * issuing ("Ending early: Too many outstanding queries"); it does not wait for answers, so the
 * schedule stays open-loop and the short run comes out INVALID. 0 = no bound.
 */
export function effectiveMaxAsyncQueries(s: Pick<TestSettings, 'scenario' | 'maxAsyncQueries'>): number {
  return s.scenario === 'Server' ? s.maxAsyncQueries : 1;
}

export const NS_PER_MS = MS;
