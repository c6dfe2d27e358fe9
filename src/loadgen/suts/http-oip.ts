/**
 * The Open Inference Protocol v2 over HTTP as a SUT: the Scanflow model server, the local router,
 * a Kubernetes Service, or any server with the same protocol. One request per query (Offline:
 * requests of `batchSize` samples, at most `maxInFlight` at a time).
 *
 * Built to cost the generator as little as possible per request (the benchmark measures its CPU
 * beside the official LoadGen's): undici's Pool (one per LoadGen user) with keep-alive connections
 * and pipelining off (one request per connection at a time), driven through the low-level
 * `dispatch` handler (no promise, stream or header object per request); request bodies built once
 * per loaded sample as Buffers (a one-sample query sends its prebuilt Buffer as is); the response
 * body is read only when it is needed: for the error message of a failure, or for the labels when
 * `labels` is set (accuracy mode). A 200 answer in a performance run is never parsed.
 */
import { Pool, type Dispatcher } from 'undici';
import type { PixelSource } from '../qsl.js';
import type { CompleteFn, IssuedQuery, QuerySample, SystemUnderTest } from '../sut.js';

export interface HttpOipOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 (the model server) or a Service URL. */
  url: string;
  model: string;
  /** Pin a version (/versions/{v}/infer). */
  version?: string;
  qsl: PixelSource;
  /** Samples per request for big queries (Offline; default 32). */
  batchSize?: number;
  /** Requests of one big query in flight at once (default 8). */
  maxInFlight?: number;
  /** Per-request timeout for the headers and between body chunks (default 30 s). */
  timeoutMs?: number;
  users?: number;
  /** Connections per user (default 256): requests beyond it queue in the client. */
  connections?: number;
  /** Read the predicted labels from each answer (accuracy mode; default false: answers are not parsed). */
  labels?: boolean;
}

/** Pixel values written with 6 decimals: the same bytes for every generator, a third of the size. */
export function encodePixels(pixels: Float32Array): string {
  let out = '';
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i] as number;
    out += (i ? ',' : '') + (v === 0 ? '0' : String(Math.round(v * 1e6) / 1e6));
  }
  return out;
}

const bodyHead = (n: number) => `{"inputs":[{"name":"images","shape":[${n},784],"datatype":"FP32","data":[`;
const BODY_TAIL = ']}],"outputs":[{"name":"label"}]}';

export function inferBody(encoded: readonly string[]): string {
  return `${bodyHead(encoded.length)}${encoded.join(',')}${BODY_TAIL}`;
}

const HEADERS = { 'content-type': 'application/json' };
const COMMA = Buffer.from(',');
const TAIL = Buffer.from(BODY_TAIL);

/** The labels of an OIP-v2 answer (`outputs[name=label].data`), or undefined. */
export function labelsOf(text: string): number[] | undefined {
  const parsed = JSON.parse(text) as { outputs?: { name: string; data: number[] }[] };
  return parsed.outputs?.find((o) => o.name === 'label')?.data;
}

/** One request's response, handled without allocating more than the chunks it keeps. */
class Exchange implements Dispatcher.DispatchHandler {
  private status = 0;
  private chunks: Buffer[] | undefined;
  private finished = false;

  constructor(
    private readonly sut: HttpOipSut,
    private readonly samples: QuerySample[],
    private readonly complete: CompleteFn,
    private readonly wantLabels: boolean,
  ) {}

  onRequestStart(): void {
    // nothing to do: the request is already counted in flight
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode;
    if (statusCode !== 200 || this.wantLabels) this.chunks = [];
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks?.push(chunk);
  }

  onResponseEnd(): void {
    if (this.finished) return;
    this.finished = true;
    this.sut.inFlight -= 1;
    if (this.status !== 200) {
      const text = Buffer.concat(this.chunks ?? []).toString('utf8');
      let message = text.slice(0, 200);
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? message;
      } catch {
        // not JSON: keep the text
      }
      return this.fail(`${this.status}: ${message}`);
    }
    let labels: number[] | undefined;
    if (this.wantLabels) {
      try {
        labels = labelsOf(Buffer.concat(this.chunks ?? []).toString('utf8'));
      } catch {
        return this.fail('200: response is not JSON');
      }
    }
    const responses = new Array(this.samples.length);
    for (let k = 0; k < this.samples.length; k++)
      responses[k] = { id: (this.samples[k] as QuerySample).id, ok: true, label: labels?.[k] };
    this.complete(responses);
  }

  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.sut.inFlight -= 1;
    this.fail(this.sut.closed ? 'cancelled' : `0: ${error.message}`);
  }

  fail(error: string): void {
    this.complete(this.samples.map((s) => ({ id: s.id, ok: false, error })));
  }
}

export class HttpOipSut implements SystemUnderTest {
  readonly name: string;
  private readonly path: string;
  private readonly pools: Pool[];
  /** Per loaded sample: its encoded pixels, and the whole body of a one-sample request. */
  private readonly encoded = new Map<number, Buffer>();
  private readonly single = new Map<number, Buffer>();
  closed = false;
  /** Requests sent and not yet answered. */
  inFlight = 0;

  constructor(private readonly o: HttpOipOptions) {
    let url: URL;
    try {
      url = new URL(o.url);
    } catch {
      throw new Error(
        `loadgen: --url must be an http(s) URL such as http://127.0.0.1:8080, got ${JSON.stringify(o.url)}`,
      );
    }
    if (!/^https?:$/.test(url.protocol))
      throw new Error(`loadgen: --url must be an http(s) URL, got ${JSON.stringify(o.url)}`);
    const base = url.pathname.replace(/\/$/, '');
    this.path = `${base}/v2/models/${encodeURIComponent(o.model)}${o.version ? `/versions/${encodeURIComponent(o.version)}` : ''}/infer`;
    const timeout = o.timeoutMs ?? 30_000;
    this.pools = Array.from(
      { length: Math.max(1, o.users ?? 1) },
      () =>
        new Pool(url.origin, {
          connections: o.connections ?? 256,
          pipelining: 1,
          headersTimeout: timeout,
          bodyTimeout: timeout,
          keepAliveTimeout: 60_000,
        }),
    );
    this.name = `oip-v2 ${url.origin}${this.path}`;
  }

  private encode(index: number): Buffer {
    let e = this.encoded.get(index);
    if (e === undefined) {
      e = Buffer.from(encodePixels(this.o.qsl.pixels(index)));
      this.encoded.set(index, e);
    }
    return e;
  }

  /** The request body of these samples; one sample's is built once and reused. */
  body(indices: readonly number[]): Buffer {
    if (indices.length === 1) {
      const index = indices[0] as number;
      let b = this.single.get(index);
      if (b === undefined) {
        b = Buffer.concat([Buffer.from(bodyHead(1)), this.encode(index), TAIL]);
        this.single.set(index, b);
      }
      return b;
    }
    const parts: Buffer[] = [Buffer.from(bodyHead(indices.length))];
    indices.forEach((index, k) => {
      if (k) parts.push(COMMA);
      parts.push(this.encode(index));
    });
    parts.push(TAIL);
    return Buffer.concat(parts);
  }

  /** Builds the loaded samples' request bodies up front, off the timed path. */
  prepare(indices: readonly number[]): void {
    for (const i of indices) this.body([i]);
  }

  issueQuery(query: IssuedQuery, complete: CompleteFn): void {
    const pool = this.pools[query.user % this.pools.length]!;
    const size = this.o.batchSize ?? 32;
    if (query.samples.length <= size) {
      this.send(query.samples, pool, complete);
      return;
    }
    // A big query (Offline): requests of batchSize samples, maxInFlight at a time.
    const batches: QuerySample[][] = [];
    for (let i = 0; i < query.samples.length; i += size) batches.push(query.samples.slice(i, i + size));
    let next = 0;
    const startOne = () => {
      if (this.closed || next >= batches.length) return;
      const batch = batches[next++]!;
      this.send(batch, pool, (responses) => {
        complete(responses);
        startOne();
      });
    };
    for (let k = 0; k < (this.o.maxInFlight ?? 8); k++) startOne();
  }

  private send(samples: QuerySample[], pool: Pool, complete: CompleteFn): void {
    const exchange = new Exchange(this, samples, complete, this.o.labels === true);
    if (this.closed) return exchange.fail('cancelled');
    const body = this.body(samples.length === 1 ? [(samples[0] as QuerySample).index] : samples.map((s) => s.index));
    this.inFlight += 1;
    pool.dispatch({ path: this.path, method: 'POST', headers: HEADERS, body }, exchange);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.pools.map((p) => p.destroy(new Error('cancelled')).catch(() => undefined)));
  }
}
