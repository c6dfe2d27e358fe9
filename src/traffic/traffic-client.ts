/**
 * Replays images against an Open Inference Protocol v2 server (the model server or the local
 * router) at a set rate with bounded concurrency, and reports counts, errors, the model versions
 * that answered and latency percentiles.
 *
 * Pacing: request i is due at start + i / ratePerSecond (open loop, so a slow server is not
 * hidden by the client slowing down), but never more than `concurrency` requests are in flight;
 * with no rate it sends as fast as the concurrency allows (closed loop).
 */
import type { ImageSet } from '../ml/types.js';
import { summarise, type LatencySummary } from './percentiles.js';
import type { ImageSource } from './sources.js';

export interface TrafficOptions {
  /** Base URL of the server or router, e.g. http://127.0.0.1:8080. */
  url: string;
  model: string;
  /** Pin a model version (/versions/{v}/infer); default: whatever the server serves. */
  version?: string;
  source: ImageSource;
  /** Images per request (default 1). */
  imagesPerRequest?: number;
  /** Requests per second; undefined or 0 = as fast as concurrency allows. */
  ratePerSecond?: number;
  /** Requests in flight at most (default 4). */
  concurrency?: number;
  /** Stop after this many requests / this long / when the signal fires / when the source ends. */
  maxRequests?: number;
  durationMs?: number;
  signal?: AbortSignal;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Sent as parameters.sample_ids so the prediction log references the stream's images (default true). */
  sendSampleIds?: boolean;
  /** Called after every response (or failure). */
  onResult?: (result: RequestResult) => void;
}

export interface RequestResult {
  ok: boolean;
  status: number;
  /** model_version of the answer (when ok). */
  version?: string;
  images: number;
  latencyMs: number;
  /** Error message from the server's { error } or the network. */
  error?: string;
  /** Predicted labels (when ok). */
  labels?: number[];
  sampleIds?: string[];
}

export interface TrafficReport {
  requests: number;
  ok: number;
  failed: number;
  images: number;
  /** Failures by "status: message" (status 0 = network / timeout). */
  errors: Record<string, number>;
  /** Successful requests by the model version that answered. */
  versions: Record<string, number>;
  durationMs: number;
  requestsPerSecond: number;
  imagesPerSecond: number;
  latencyMs: LatencySummary;
}

export function validateTrafficOptions(o: TrafficOptions): void {
  let protocol = '';
  try {
    protocol = new URL(o.url).protocol;
  } catch {
    // reported below
  }
  if (!/^https?:$/.test(protocol))
    throw new Error(`traffic.url must be an http(s) URL such as http://127.0.0.1:8080, got ${JSON.stringify(o.url)}`);
  if (!o.model) throw new Error('traffic.model is required');
  const positiveInt = (name: string, v: number | undefined) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1))
      throw new Error(`traffic.${name} must be an integer >= 1, got ${v}`);
  };
  positiveInt('imagesPerRequest', o.imagesPerRequest);
  positiveInt('concurrency', o.concurrency);
  positiveInt('maxRequests', o.maxRequests);
  if (o.ratePerSecond !== undefined && !(o.ratePerSecond >= 0))
    throw new Error(`traffic.ratePerSecond must be >= 0, got ${o.ratePerSecond}`);
  if (o.durationMs !== undefined && !(o.durationMs > 0))
    throw new Error(`traffic.durationMs must be > 0, got ${o.durationMs}`);
  if (o.maxRequests === undefined && o.durationMs === undefined && o.signal === undefined) {
    // A looping source would otherwise run forever.
    throw new Error('traffic needs a stop condition: maxRequests, durationMs or signal');
  }
}

interface Chunk {
  pixels: number[];
  count: number;
  ids?: string[];
}

/** Splits image sets from the source into request-sized chunks, lazily. */
class Chunker {
  private pending: ImageSet | undefined;
  private offset = 0;
  private done = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly source: ImageSource,
    private readonly perRequest: number,
  ) {}

  /** Serialised: concurrent senders must not both pull a new image set from the source. */
  next(): Promise<Chunk | undefined> {
    const run = this.queue.then(() => this.take());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async take(): Promise<Chunk | undefined> {
    while (!this.pending || this.offset >= this.pending.count) {
      if (this.done) return undefined;
      const set = await this.source.next();
      if (!set) {
        this.done = true;
        return undefined;
      }
      if (set.height * set.width !== 784)
        throw new Error(`traffic source gave ${set.height}x${set.width} images; the model takes 28x28`);
      this.pending = set;
      this.offset = 0;
    }
    const set = this.pending;
    const count = Math.min(this.perRequest, set.count - this.offset);
    const pixels = Array.from(set.pixels.subarray(this.offset * 784, (this.offset + count) * 784));
    const ids = set.ids?.slice(this.offset, this.offset + count);
    this.offset += count;
    return { pixels, count, ...(ids ? { ids } : {}) };
  }
}

export async function runTraffic(options: TrafficOptions): Promise<TrafficReport> {
  validateTrafficOptions(options);
  const concurrency = options.concurrency ?? 4;
  const rate = options.ratePerSecond ?? 0;
  const path = options.version
    ? `/v2/models/${encodeURIComponent(options.model)}/versions/${encodeURIComponent(options.version)}/infer`
    : `/v2/models/${encodeURIComponent(options.model)}/infer`;
  const endpoint = new URL(path, options.url).toString();
  const chunker = new Chunker(options.source, options.imagesPerRequest ?? 1);
  const latencies: number[] = [];
  const report = {
    requests: 0,
    ok: 0,
    failed: 0,
    images: 0,
    errors: {} as Record<string, number>,
    versions: {} as Record<string, number>,
  };
  const start = performance.now();
  const deadline = options.durationMs !== undefined ? start + options.durationMs : Infinity;
  let issued = 0;

  const stopped = () =>
    options.signal?.aborted === true ||
    performance.now() >= deadline ||
    (options.maxRequests !== undefined && issued >= options.maxRequests);

  const worker = async (): Promise<void> => {
    for (;;) {
      if (stopped()) return;
      const index = issued;
      issued += 1;
      if (rate > 0) {
        const due = start + (index * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait, options.signal);
        if (options.signal?.aborted || performance.now() >= deadline) return;
      }
      const chunk = await chunker.next();
      if (!chunk) return;
      const result = await send(endpoint, chunk, options);
      report.requests += 1;
      latencies.push(result.latencyMs);
      if (result.ok) {
        report.ok += 1;
        report.images += result.images;
        const v = result.version ?? 'unknown';
        report.versions[v] = (report.versions[v] ?? 0) + 1;
      } else {
        report.failed += 1;
        const k = `${result.status}: ${result.error ?? 'unknown error'}`;
        report.errors[k] = (report.errors[k] ?? 0) + 1;
      }
      options.onResult?.(result);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  const durationMs = performance.now() - start;
  return {
    ...report,
    durationMs,
    requestsPerSecond: report.requests / (durationMs / 1000),
    imagesPerSecond: report.images / (durationMs / 1000),
    latencyMs: summarise(latencies),
  };
}

async function send(endpoint: string, chunk: Chunk, options: TrafficOptions): Promise<RequestResult> {
  const body = JSON.stringify({
    inputs: [{ name: 'images', shape: [chunk.count, 28, 28, 1], datatype: 'FP32', data: chunk.pixels }],
    ...(chunk.ids && options.sendSampleIds !== false ? { parameters: { sample_ids: chunk.ids } } : {}),
  });
  const started = performance.now();
  try {
    const res = await fetch(endpoint, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const json = (await res.json().catch(() => ({}))) as {
      model_version?: string;
      error?: string;
      outputs?: Array<{ name: string; data: number[] }>;
    };
    const latencyMs = performance.now() - started;
    if (!res.ok)
      return {
        ok: false,
        status: res.status,
        images: chunk.count,
        latencyMs,
        error: json.error ?? res.statusText,
        sampleIds: chunk.ids,
      };
    const labels = json.outputs?.find((o) => o.name === 'label')?.data;
    return {
      ok: true,
      status: res.status,
      version: json.model_version,
      images: chunk.count,
      latencyMs,
      labels,
      sampleIds: chunk.ids,
    };
  } catch (err) {
    return {
      ok: false,
      status: 0,
      images: chunk.count,
      latencyMs: performance.now() - started,
      error: (err as Error).message,
      sampleIds: chunk.ids,
    };
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** One line per figure, for logs and the demo. */
export function formatReport(r: TrafficReport): string {
  const l = r.latencyMs;
  const versions =
    Object.entries(r.versions)
      .map(([v, n]) => `v${v}: ${n}`)
      .join(', ') || 'none';
  const errors = Object.entries(r.errors)
    .map(([e, n]) => `${n}x ${e}`)
    .join('; ');
  return [
    `requests ${r.requests} (ok ${r.ok}, failed ${r.failed}), images ${r.images}, ${r.durationMs.toFixed(0)} ms`,
    `throughput ${r.requestsPerSecond.toFixed(1)} req/s, ${r.imagesPerSecond.toFixed(1)} img/s`,
    `latency ms: p50 ${l.p50.toFixed(2)}, p90 ${l.p90.toFixed(2)}, p99 ${l.p99.toFixed(2)}, max ${l.max.toFixed(2)}`,
    `answered by ${versions}`,
    ...(errors ? [`errors: ${errors}`] : []),
  ].join('\n');
}
