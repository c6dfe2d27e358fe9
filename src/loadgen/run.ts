/**
 * The LoadGen runner: issues one scenario's queries to a SUT on time and records when each sample
 * was scheduled, issued and answered.
 *
 * - Server: Poisson arrivals at targetQps; query i is due at its scheduled offset whatever the SUT
 *   is doing (open loop), and its latency runs from that scheduled time, so a slow SUT, or a
 *   generator that falls behind, shows up in the latencies (no coordinated omission).
 * - Offline: one query of all samples at time 0.
 * - SingleStream / MultiStream: one query outstanding (1 / 8 samples); the next is issued as soon
 *   as the previous one is answered.
 *
 * A run can be one segment of a longer run: it then owns the run-time window [fromNs, toNs)
 * (scheduled time for Server, issue time for the streams) and the query numbers from firstQuery,
 * and regenerates the same schedule by fast-forwarding the seeded streams. The caller joins the
 * segments' detail logs.
 *
 * maxAsyncQueries (Server, performance mode) is LoadGen's: right after issuing a query, if more than
 * maxAsyncQueries queries are outstanding, issuing ends ("Too many outstanding queries"); the run
 * waits for the answers and ends short, which its summary reports (min duration / min queries not
 * met). Issuing never waits for an answer: that would close the loop and hide the SUT's slowness.
 * A segment counts only its own outstanding queries (the previous segment was drained). maxDurationMs
 * (0 = none) ends issuing the same way once a query is issued past it, in every scenario.
 *
 * Timing: wall time from performance.now(); a query due within `spinMs` (0.25 ms) is waited for
 * with setImmediate (so the event loop still delivers answers), a later one with setTimeout,
 * whose 1 ms resolution makes some queries up to ~1 ms late (counted: latency runs from the
 * scheduled time, and the summary reports the issue delay).
 */
import { performance } from 'node:perf_hooks';
import { emptyDetailLog, type DetailLog } from './detail-log.js';
import { isLastServerQuery, PoissonSchedule, SampleChooser, SeededRandom } from './schedule.js';
import { offlineSampleCount, type TestSettings } from './settings.js';
import { latencyStats, percentile } from './stats.js';
import type { IssuedQuery, QuerySample, QuerySampleLibrary, SampleResponse, SystemUnderTest } from './sut.js';

export interface Segment {
  index: number;
  /** Run time (ns) this segment starts at; 0 for the first. */
  fromNs: number;
  /** Run time (ns) this segment ends before (Infinity: to the end of the run). */
  toNs: number;
  /** First query number of this segment. */
  firstQuery: number;
}

export const WHOLE_RUN: Segment = { index: 0, fromNs: 0, toNs: Infinity, firstQuery: 0 };

export interface Progress {
  segment: number;
  /** Run time (ns) reached. */
  runTimeNs: number;
  /** Counted from the start of the whole run (firstQuery included). */
  queriesIssued: number;
  queriesCompleted: number;
  samplesFailed: number;
  /** p99 of the latencies of this segment so far (ns), or 0 before the first answer. */
  p99Ns: number;
  /** Scheduled → issued delay, worst so far in this segment (ns). */
  maxIssueDelayNs: number;
}

export interface RunOptions {
  settings: TestSettings;
  sut: SystemUnderTest;
  qsl: QuerySampleLibrary;
  segment?: Segment;
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  progressIntervalMs?: number;
  /** Poll for a due query only this close to its time (ms, default 0.25); earlier a timer waits. */
  spinMs?: number;
  /** After the last query was issued, wait this long for answers before failing the rest (default 60 s). */
  drainTimeoutMs?: number;
}

export interface SegmentResult {
  log: DetailLog;
  /** True when this segment issued the run's last query (or the run was cancelled). */
  done: boolean;
  cancelled: boolean;
  /** Where the next segment starts. */
  next: Segment;
  /** The QSL samples this run loaded (the same for every segment: chosen with qslRngSeed). */
  loadedSamples: number;
}

/** The QSL indices a run loads: every sample (accuracy), else performanceSampleCount chosen with qslRngSeed. */
export function loadedSampleIndices(settings: TestSettings, qsl: QuerySampleLibrary): number[] {
  const total = qsl.totalSampleCount;
  if (settings.mode === 'AccuracyOnly') return Array.from({ length: total }, (_, i) => i);
  const count = Math.min(total, settings.performanceSampleCount || qsl.performanceSampleCount || total);
  const all = Array.from({ length: total }, (_, i) => i);
  if (count === total) return all;
  // A seeded partial Fisher-Yates shuffle: the first `count` are the loaded set.
  const rng = new SeededRandom(settings.qslRngSeed, 3);
  for (let i = 0; i < count; i++) {
    const j = i + rng.nextInt(total - i);
    [all[i], all[j]] = [all[j] as number, all[i] as number];
  }
  return all.slice(0, count).sort((a, b) => a - b);
}

interface PlannedQuery {
  id: number;
  scheduledNs: number;
  samples: number[];
  last: boolean;
}

const nowNs = () => performance.now() * 1e6;

export async function runLoadgen(options: RunOptions): Promise<SegmentResult> {
  const { settings, qsl } = options;
  const segment = options.segment ?? WHOLE_RUN;
  const loaded = loadedSampleIndices(settings, qsl);
  await qsl.loadSamplesToRam(loaded);
  await options.sut.prepare?.(loaded);
  try {
    return await new Runner(options, segment, loaded).run();
  } finally {
    await qsl.unloadSamplesFromRam(loaded);
  }
}

class Runner {
  private readonly s: TestSettings;
  private readonly log: DetailLog;
  private readonly pendingSamples = new Map<number, number>(); // query id → samples not yet answered
  private base = 0;
  private issued = 0;
  private completedQueries = 0;
  private failed = 0;
  private outstanding = 0;
  private maxIssueDelayNs = 0;
  private latencies: number[] = [];
  private finishedIssuing = false;
  private endedEarly = false;
  private cancelled = false;
  private lastPlanned: PlannedQuery | undefined;
  private nextQuery: PlannedQuery | undefined;
  private resolve!: () => void;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly planner: () => PlannedQuery | undefined;

  constructor(
    private readonly o: RunOptions,
    private readonly segment: Segment,
    private readonly loaded: number[],
  ) {
    this.s = o.settings;
    this.log = emptyDetailLog(this.s.scenario, segment.index);
    if (this.s.mode === 'AccuracyOnly') this.log.label = [];
    this.planner = this.makePlanner();
  }

  /** The query stream of the whole run, fast-forwarded to this segment's first query. */
  private makePlanner(): () => PlannedQuery | undefined {
    const s = this.s;
    const accuracy = s.mode === 'AccuracyOnly';
    const spq = s.scenario === 'Offline' ? offlineSampleCount(s) : s.samplesPerQuery;
    const chooser = new SampleChooser(s.sampleIndexRngSeed, this.loaded.length);
    const contiguous = s.scenario === 'MultiStream';
    let accuracyCursor = 0;
    const samplesFor = (): number[] => {
      if (accuracy) {
        const n = s.scenario === 'Offline' ? this.loaded.length : Math.min(spq, this.loaded.length - accuracyCursor);
        const out = this.loaded.slice(accuracyCursor, accuracyCursor + n);
        accuracyCursor += n;
        return out;
      }
      if (s.scenario === 'Offline') return Array.from({ length: spq }, (_, k) => this.loaded[k % this.loaded.length]!);
      return chooser.next(spq, contiguous).map((i) => this.loaded[i]!);
    };
    const accuracyQueries = s.scenario === 'Offline' ? 1 : Math.ceil(this.loaded.length / spq);
    let id = -1;
    if (s.scenario === 'Server') {
      const schedule = new PoissonSchedule(s.scheduleRngSeed, s.targetQps);
      let ended = false;
      return () => {
        if (ended) return undefined;
        id += 1;
        const t = schedule.next();
        const samples = samplesFor();
        const last = accuracy ? id + 1 >= accuracyQueries : isLastServerQuery(id, t, s);
        if (last) ended = true;
        return { id, scheduledNs: t, samples, last };
      };
    }
    if (s.scenario === 'Offline') {
      return () => {
        id += 1;
        return id === 0 ? { id, scheduledNs: 0, samples: samplesFor(), last: true } : undefined;
      };
    }
    // Streams: the scheduled time is the issue time, known only when issued; the end is decided then too.
    return () => {
      id += 1;
      if (accuracy && id >= accuracyQueries) return undefined;
      return { id, scheduledNs: NaN, samples: samplesFor(), last: accuracy && id + 1 >= accuracyQueries };
    };
  }

  private runTime(): number {
    return nowNs() - this.base;
  }

  async run(): Promise<SegmentResult> {
    const { segment } = this;
    // Fast-forward the seeded streams to this segment.
    for (let i = 0; i < segment.firstQuery; i++) this.lastPlanned = this.planner();
    const done = new Promise<void>((r) => (this.resolve = r));
    this.base = nowNs() - segment.fromNs;
    const onAbort = () => this.cancel();
    if (this.o.signal?.aborted) this.cancel();
    this.o.signal?.addEventListener('abort', onAbort);
    const interval = this.o.progressIntervalMs ?? 1000;
    const progress = this.o.onProgress ? setInterval(() => this.o.onProgress?.(this.progress()), interval) : undefined;
    try {
      if (!this.cancelled) {
        if (this.lastPlanned?.last) this.finishIssuing();
        else {
          this.nextQuery = this.planner();
          if (this.s.scenario === 'Server' || this.s.scenario === 'Offline') this.pump();
          else this.issueStreamQuery();
        }
      }
      await done;
    } finally {
      this.o.signal?.removeEventListener('abort', onAbort);
      if (progress) clearInterval(progress);
      this.clearTimers();
    }
    this.o.onProgress?.(this.progress());
    const lastIssuedId = this.segment.firstQuery + this.issued - 1;
    const runDone =
      this.cancelled || this.endedEarly || this.lastPlanned?.last === true || this.nextQuery === undefined;
    const endNs = this.s.scenario === 'Server' ? segment.toNs : this.runTime();
    return {
      log: this.log,
      done: runDone,
      cancelled: this.cancelled,
      next: { index: segment.index + 1, fromNs: endNs, toNs: Infinity, firstQuery: lastIssuedId + 1 },
      loadedSamples: this.loaded.length,
    };
  }

  progress(): Progress {
    const sorted = Float64Array.from(this.latencies).sort();
    return {
      segment: this.segment.index,
      runTimeNs: Math.round(this.runTime()),
      queriesIssued: this.segment.firstQuery + this.issued,
      queriesCompleted: this.segment.firstQuery + this.completedQueries,
      samplesFailed: this.failed,
      p99Ns: sorted.length ? Math.round(percentile(sorted, 0.99)) : 0,
      maxIssueDelayNs: Math.round(this.maxIssueDelayNs),
    };
  }

  // ---- Server and Offline: issue every query at its scheduled time -------------------------------

  private pump = (): void => {
    this.timer = undefined;
    this.immediate = undefined;
    if (this.cancelled || this.finishedIssuing) return;
    const maxAsync = this.s.scenario === 'Server' && this.s.mode === 'PerformanceOnly' ? this.s.maxAsyncQueries : 0;
    for (;;) {
      const q = this.nextQuery;
      if (!q || q.scheduledNs >= this.segment.toNs) return this.finishIssuing();
      const wait = q.scheduledNs - this.runTime();
      if (wait > 0) {
        // Poll (setImmediate) only in the last spinMs before a query; earlier, sleep on a timer
        // (1 ms resolution): polling costs a core, which a 2-core machine shares with the SUT.
        const spinNs = (this.o.spinMs ?? 0.25) * 1e6;
        if (wait > spinNs) this.timer = setTimeout(this.pump, Math.max(1, Math.floor((wait - spinNs) / 1e6)));
        else this.immediate = setImmediate(this.pump);
        return;
      }
      this.issue(q, q.scheduledNs);
      this.lastPlanned = q;
      this.nextQuery = q.last ? undefined : this.planner();
      if (this.finishedIssuing) return;
      if (maxAsync > 0 && this.outstanding > maxAsync)
        return this.endEarly(
          `Too many outstanding queries: issued ${this.segment.firstQuery + this.issued}, outstanding ${this.outstanding} > maxAsyncQueries ${maxAsync}`,
        );
      if (this.pastMaxDuration())
        return this.endEarly(`Max test duration reached: maxDurationMs ${this.s.maxDurationMs}`);
    }
  };

  // ---- SingleStream / MultiStream: one query outstanding -----------------------------------------

  private issueStreamQuery(): void {
    if (this.cancelled || this.finishedIssuing) return;
    const q = this.nextQuery;
    const t = this.runTime();
    if (!q || t >= this.segment.toNs) return this.finishIssuing();
    // LoadGen checks after issuing: the query issued once minDuration has passed (with
    // minQueryCount reached) is the last, so the final query's issue time meets minDuration.
    const s = this.s;
    const count = this.segment.firstQuery + this.issued + 1;
    if (s.mode === 'PerformanceOnly') {
      const enough = t >= s.minDurationMs * 1e6 && count >= s.minQueryCount;
      const capped = s.maxQueryCount > 0 && count >= s.maxQueryCount;
      if (enough || capped) q.last = true;
    }
    this.lastPlanned = q;
    this.nextQuery = q.last ? undefined : this.planner();
    this.issue(q, t);
    if (!this.finishedIssuing && this.pastMaxDuration())
      this.endEarly(`Max test duration reached: maxDurationMs ${s.maxDurationMs}`);
  }

  // ---- issuing and answers -----------------------------------------------------------------------

  private issue(q: PlannedQuery, scheduledNs: number): void {
    const issuedNs = this.runTime();
    this.maxIssueDelayNs = Math.max(this.maxIssueDelayNs, issuedNs - scheduledNs);
    const samples: QuerySample[] = [];
    const user = q.id % this.s.users;
    for (const index of q.samples) {
      const row = this.log.query.length;
      const sampleId = row; // unique within the segment, which is all a SUT sees
      this.log.query.push(q.id);
      this.log.sample.push(index);
      this.log.user.push(user);
      this.log.scheduledNs.push(Math.round(scheduledNs));
      this.log.issuedNs.push(Math.round(issuedNs));
      this.log.completedNs.push(-1);
      this.log.ok.push(0);
      this.log.label?.push(-1);
      samples.push({ id: sampleId, index });
    }
    this.pendingSamples.set(q.id, samples.length);
    this.issued += 1;
    this.outstanding += 1;
    const query: IssuedQuery = { id: q.id, samples, user };
    try {
      this.o.sut.issueQuery(query, (responses) => this.complete(q.id, responses));
    } catch (err) {
      this.complete(
        q.id,
        samples.map((x) => ({ id: x.id, ok: false, error: `issueQuery threw: ${(err as Error).message}` })),
      );
    }
    if (q.last) this.finishIssuing();
  }

  private complete(queryId: number, responses: SampleResponse[]): void {
    const t = Math.round(this.runTime());
    let pending = this.pendingSamples.get(queryId);
    if (pending === undefined) return; // already finished (drain timeout or cancellation)
    for (const r of responses) {
      const row = r.id;
      if (this.log.query[row] !== queryId || this.log.completedNs[row] !== -1) continue;
      this.log.completedNs[row] = t;
      this.log.ok[row] = r.ok ? 1 : 0;
      if (this.log.label && r.label !== undefined) this.log.label[row] = r.label;
      if (!r.ok) {
        this.failed += 1;
        const message = r.error ?? 'failed';
        this.log.errors[message] = (this.log.errors[message] ?? 0) + 1;
      }
      this.latencies.push(t - (this.log.scheduledNs[row] as number));
      pending -= 1;
    }
    if (pending > 0) {
      this.pendingSamples.set(queryId, pending);
      return;
    }
    this.pendingSamples.delete(queryId);
    this.outstanding -= 1;
    this.completedQueries += 1;
    if (this.finishedIssuing) this.maybeDone();
    else if (this.s.scenario !== 'Server' && this.s.scenario !== 'Offline')
      this.immediate = setImmediate(() => this.issueStreamQuery());
  }

  /**
   * LoadGen's "Ending early: …" (issue_query_controller.cc), checked after each issue of a
   * performance run: too many outstanding queries (Server), or the run past maxDurationMs.
   */
  private endEarly(why: string): void {
    this.log.endedEarly = `${why} at ${(this.runTime() / 1e9).toFixed(3)} s`;
    this.endedEarly = true;
    this.finishIssuing();
  }

  private pastMaxDuration(): boolean {
    const s = this.s;
    return s.mode === 'PerformanceOnly' && s.maxDurationMs > 0 && this.runTime() > s.maxDurationMs * 1e6;
  }

  private drainTimer: NodeJS.Timeout | undefined;

  private finishIssuing(): void {
    if (this.finishedIssuing) return;
    this.finishedIssuing = true;
    this.clearTimers();
    this.o.sut.flushQueries?.();
    if (this.outstanding > 0 && !this.cancelled) {
      this.drainTimer = setTimeout(
        () => this.failUnanswered('no answer before the drain timeout'),
        this.o.drainTimeoutMs ?? 60_000,
      );
    }
    this.maybeDone();
  }

  private failUnanswered(reason: string): void {
    for (const [queryId] of this.pendingSamples) {
      const rows: SampleResponse[] = [];
      for (let row = 0; row < this.log.query.length; row++)
        if (this.log.query[row] === queryId && this.log.completedNs[row] === -1)
          rows.push({ id: row, ok: false, error: reason });
      this.complete(queryId, rows);
    }
    this.pendingSamples.clear();
    this.outstanding = 0;
    this.maybeDone();
  }

  private maybeDone(): void {
    if (this.finishedIssuing && (this.outstanding === 0 || this.cancelled)) {
      if (this.drainTimer) clearTimeout(this.drainTimer);
      this.resolve();
    }
  }

  private cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.clearTimers();
    if (!this.finishedIssuing) {
      this.finishedIssuing = true;
      this.o.sut.flushQueries?.();
    }
    void this.o.sut.close?.();
    this.maybeDone();
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }
}

/** Latency stats of a finished segment (used by progress lines and tests). */
export function segmentLatencies(log: DetailLog): ReturnType<typeof latencyStats>['stats'] {
  const lat: number[] = [];
  for (let i = 0; i < log.query.length; i++) {
    const c = log.completedNs[i] as number;
    if (c >= 0) lat.push(c - (log.scheduledNs[i] as number));
  }
  return latencyStats(lat).stats;
}
