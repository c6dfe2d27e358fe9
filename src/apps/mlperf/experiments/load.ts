/**
 * The experiments' load: MLPerf LoadGen (src/loadgen, Server scenario: Poisson arrivals at a target
 * rate, latency from the scheduled time) driven from the experiment, one LoadGen run per step of a
 * load profile, against the online workflow's entry Service.
 *
 * The SUT sends each query (one MNIST image) on a new connection, as kube-proxy picks a backend per
 * connection: a kept-alive connection would stay on a pod the Service no longer routes to, and
 * fail-over would look slower than it is. "Users" are LoadGen's clients sharing the schedule; here
 * each has at most one request in flight (a query due while every user waits queues in the client,
 * and its waiting counts in its latency). Every answer is recorded with the service that gave it,
 * read from the answer's model version (the primary serves version 1, the backup version 2).
 */
import { request } from 'node:http';
import { resolveSettings } from '../../../loadgen/settings.js';
import { runLoadgen } from '../../../loadgen/run.js';
import { SyntheticQsl } from '../../../loadgen/qsl.js';
import { encodePixels, inferBody } from '../../../loadgen/suts/http-oip.js';
import type { CompleteFn, IssuedQuery, SystemUnderTest } from '../../../loadgen/sut.js';
import { Rng } from '../../../ml/random.js';

export interface LoadStep {
  /** Target queries/s of this step (Poisson arrivals). */
  qps: number;
  /** Length of the step (at most, with `until`). */
  seconds: number;
  /** Ends the step early when it resolves (e.g. once an agent acted). */
  until?: Promise<unknown>;
}

/** One answered or failed query. */
export interface QueryRecord {
  /** Seconds since the load started, when the answer (or the failure) came. */
  at: number;
  /** Latency from the query's issue (ms), queueing in the client included. */
  latencyMs: number;
  /** The service that answered, or undefined for a failure. */
  service?: string;
  error?: string;
}

export interface LoadRun {
  startedAt: number;
  records: QueryRecord[];
  /** The profile as run: each step's start offset and actual length (s). */
  steps: Array<{ qps: number; seconds: number; from: number }>;
  users: number;
}

const IMAGES = 64;

/** Bodies of 64 seeded random images (the server's cost does not depend on the pixels). */
function bodies(): Buffer[] {
  const rng = new Rng(12);
  return Array.from({ length: IMAGES }, () => {
    const px = new Float32Array(784);
    for (let i = 0; i < px.length; i++) px[i] = Math.round(rng.next() * 255) / 255;
    return Buffer.from(inferBody([encodePixels(px)]));
  });
}

class TaggingSut implements SystemUnderTest {
  readonly name: string;
  private readonly bodies = bodies();
  private readonly waiting: Array<() => void> = [];
  private inFlight = 0;
  private closed = false;

  constructor(
    private readonly o: {
      url: URL;
      model: string;
      users: number;
      timeoutMs: number;
      services: Record<string, string>;
      t0: number;
      records: QueryRecord[];
    },
  ) {
    this.name = `oip-v2 ${o.url.origin} (new connection per query)`;
  }

  issueQuery(query: IssuedQuery, complete: CompleteFn): void {
    const scheduled = performance.now();
    const go = (): void => this.send(query, complete, scheduled);
    if (this.inFlight < this.o.users) go();
    else this.waiting.push(go);
  }

  private send(query: IssuedQuery, complete: CompleteFn, scheduled: number): void {
    if (this.closed) {
      this.o.records.push({
        at: (Date.now() - this.o.t0) / 1000,
        latencyMs: performance.now() - scheduled,
        error: 'cancelled',
      });
      return complete(query.samples.map((s) => ({ id: s.id, ok: false, error: 'cancelled' })));
    }
    this.inFlight += 1;
    const sample = query.samples[0]!;
    const body = this.bodies[sample.index % IMAGES]!;
    let done = false;
    const finish = (service: string | undefined, error?: string): void => {
      if (done) return;
      done = true;
      this.inFlight -= 1;
      const now = performance.now();
      this.o.records.push({
        at: (Date.now() - this.o.t0) / 1000,
        latencyMs: now - scheduled,
        ...(service ? { service } : { error: error ?? 'failed' }),
      });
      complete(query.samples.map((s) => (service ? { id: s.id, ok: true } : { id: s.id, ok: false, error })));
      this.waiting.shift()?.();
    };
    const req = request(
      new URL(`/v2/models/${this.o.model}/infer`, this.o.url),
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
        timeout: this.o.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return finish(undefined, `HTTP ${res.statusCode}`);
          try {
            const version = String((JSON.parse(text) as { model_version?: string }).model_version ?? '');
            finish(this.o.services[version] ?? `version ${version}`);
          } catch {
            finish(undefined, 'answer is not JSON');
          }
        });
        res.on('error', (e) => finish(undefined, e.message));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${this.o.timeoutMs} ms`)));
    req.on('error', (e) => finish(undefined, (e as NodeJS.ErrnoException).code ?? e.message));
    req.end(body);
  }

  /**
   * LoadGen closes the SUT when a run is cancelled, and each step of the profile is a run that
   * ends by cancellation: the SUT outlives them all, so only `shutdown` (after the last step) closes it.
   */
  async close(): Promise<void> {}

  shutdown(): void {
    this.closed = true;
    for (const go of this.waiting.splice(0)) go();
  }
}

export interface ServerLoadOptions {
  /** The entry Service's URL, e.g. http://10.0.0.12:8080. */
  url: string;
  model: string;
  users: number;
  steps: LoadStep[];
  /** Model version → service name, e.g. { '1': 'model-server', '2': 'backup' }. */
  services: Record<string, string>;
  /** Per-query timeout (default 5 s): a query not answered by then failed. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called once a second with the records so far (live progress). */
  onSecond?: (run: LoadRun) => void;
}

/** Runs the profile: each step a LoadGen Server run, started on time whatever the previous one's drain. */
export async function runServerLoad(o: ServerLoadOptions): Promise<LoadRun> {
  if (!Number.isInteger(o.users) || o.users < 1) throw new Error(`users: expected an integer >= 1, got ${o.users}`);
  if (o.steps.length === 0) throw new Error('steps: the load profile is empty');
  for (const s of o.steps)
    if (!(s.qps > 0 && s.seconds > 0)) throw new Error(`steps: qps and seconds must be > 0, got ${JSON.stringify(s)}`);
  const t0 = Date.now();
  const run: LoadRun = { startedAt: t0, records: [], steps: [], users: o.users };
  const sut = new TaggingSut({
    url: new URL(o.url),
    model: o.model,
    users: o.users,
    timeoutMs: o.timeoutMs ?? 5_000,
    services: o.services,
    t0,
    records: run.records,
  });
  const ticker = setInterval(() => o.onSecond?.(run), 1000);
  const runs: Promise<unknown>[] = [];
  let from = 0;
  try {
    for (const [k, step] of o.steps.entries()) {
      if (o.signal?.aborted) break;
      // Each step is its own LoadGen run, stopped at its length, at `until`, or with the whole load.
      const stepStop = new AbortController();
      const stopStep = (): void => stepStop.abort();
      o.signal?.addEventListener('abort', stopStep, { once: true });
      const settings = resolveSettings({
        scenario: 'Server',
        targetQps: step.qps,
        minDurationMs: Math.round(step.seconds * 1000),
        maxDurationMs: Math.round(step.seconds * 1000),
        minQueryCount: 1,
        users: o.users,
        scheduleRngSeed: k + 1,
        sampleIndexRngSeed: k + 1,
      });
      const started = Date.now();
      // Planned length until the step ends (progress lines read the current step).
      const entry = { qps: step.qps, seconds: step.seconds, from };
      run.steps.push(entry);
      runs.push(
        runLoadgen({
          settings,
          sut,
          qsl: new SyntheticQsl(IMAGES),
          signal: stepStop.signal,
          drainTimeoutMs: (o.timeoutMs ?? 5_000) + 30_000,
        }).finally(() => o.signal?.removeEventListener('abort', stopStep)),
      );
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise((r) => (timer = setTimeout(r, step.seconds * 1000))),
        ...(step.until ? [step.until] : []),
        new Promise((r) => stepStop.signal.addEventListener('abort', r, { once: true })),
      ]);
      clearTimeout(timer);
      stepStop.abort();
      const seconds = Math.round((Date.now() - started) / 100) / 10;
      entry.seconds = seconds;
      from += seconds;
    }
    await Promise.all(runs);
  } finally {
    clearInterval(ticker);
    sut.shutdown();
  }
  o.onSecond?.(run);
  return run;
}

/** Per-second answers by service and failures, from t = 0 to the last record. */
export function perSecond(
  run: LoadRun,
  services: string[],
): Array<{ t: number; failed: number } & Record<string, number>> {
  const end = Math.ceil(Math.max(0, ...run.records.map((r) => r.at)));
  const rows = Array.from({ length: end + 1 }, (_, t) => ({
    t,
    failed: 0,
    ...Object.fromEntries(services.map((s) => [s, 0])),
  })) as Array<{ t: number; failed: number } & Record<string, number>>;
  for (const r of run.records) {
    const row = rows[Math.floor(r.at)]!;
    if (r.service) row[r.service] = (row[r.service] ?? 0) + 1;
    else row.failed += 1;
  }
  return rows;
}

/** The load's offered queries/s at time t (s), from the profile. */
export function offeredAt(run: LoadRun, t: number): number {
  const s = run.steps.find((x) => t >= x.from && t < x.from + x.seconds);
  return s?.qps ?? 0;
}
