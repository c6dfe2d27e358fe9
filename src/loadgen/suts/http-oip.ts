/**
 * The Open Inference Protocol v2 over HTTP as a SUT: the Scanflow model server, the local router,
 * a Kubernetes Service, or any server with the same protocol. One request per query (Offline:
 * requests of `batchSize` samples, at most `maxInFlight` at a time), keep-alive connections, one
 * connection pool per LoadGen user. Request bodies are built once per loaded sample.
 */
import http from 'node:http';
import https from 'node:https';
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
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  users?: number;
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

export function inferBody(encoded: readonly string[]): string {
  return `{"inputs":[{"name":"images","shape":[${encoded.length},784],"datatype":"FP32","data":[${encoded.join(',')}]}],"outputs":[{"name":"label"}]}`;
}

export class HttpOipSut implements SystemUnderTest {
  readonly name: string;
  private readonly target: URL;
  private readonly path: string;
  private readonly agents: http.Agent[];
  private readonly encoded = new Map<number, string>();
  private readonly inFlight = new Set<http.ClientRequest>();
  private closed = false;

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
    this.target = url;
    const base = url.pathname.replace(/\/$/, '');
    this.path = `${base}/v2/models/${encodeURIComponent(o.model)}${o.version ? `/versions/${encodeURIComponent(o.version)}` : ''}/infer`;
    const Agent = url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agents = Array.from(
      { length: Math.max(1, o.users ?? 1) },
      () => new Agent({ keepAlive: true, maxSockets: 256 }),
    );
    this.name = `oip-v2 ${url.origin}${this.path}`;
  }

  private encode(index: number): string {
    let e = this.encoded.get(index);
    if (e === undefined) {
      e = encodePixels(this.o.qsl.pixels(index));
      this.encoded.set(index, e);
    }
    return e;
  }

  /** Encodes the loaded samples' request data up front, off the timed path. */
  prepare(indices: readonly number[]): void {
    for (const i of indices) this.encode(i);
  }

  issueQuery(query: IssuedQuery, complete: CompleteFn): void {
    const agent = this.agents[query.user % this.agents.length]!;
    if (query.samples.length <= (this.o.batchSize ?? 32)) {
      this.send(query.samples, agent, complete);
      return;
    }
    // A big query (Offline): requests of batchSize samples, maxInFlight at a time.
    const size = this.o.batchSize ?? 32;
    const batches: QuerySample[][] = [];
    for (let i = 0; i < query.samples.length; i += size) batches.push(query.samples.slice(i, i + size));
    let next = 0;
    const startOne = () => {
      if (this.closed || next >= batches.length) return;
      const batch = batches[next++]!;
      this.send(batch, agent, (responses) => {
        complete(responses);
        startOne();
      });
    };
    for (let k = 0; k < (this.o.maxInFlight ?? 8); k++) startOne();
  }

  private send(samples: QuerySample[], agent: http.Agent, complete: CompleteFn): void {
    const body = inferBody(samples.map((s) => this.encode(s.index)));
    const fail = (error: string) => complete(samples.map((s) => ({ id: s.id, ok: false, error })));
    if (this.closed) return fail('cancelled');
    const request = (this.target.protocol === 'https:' ? https : http).request(
      {
        protocol: this.target.protocol,
        hostname: this.target.hostname,
        port: this.target.port,
        path: this.path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: this.o.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          this.inFlight.delete(request);
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            let message = text.slice(0, 200);
            try {
              message = (JSON.parse(text) as { error?: string }).error ?? message;
            } catch {
              // not JSON: keep the text
            }
            return fail(`${res.statusCode}: ${message}`);
          }
          let labels: number[] | undefined;
          try {
            const parsed = JSON.parse(text) as { outputs?: { name: string; data: number[] }[] };
            labels = parsed.outputs?.find((o) => o.name === 'label')?.data;
          } catch {
            return fail('200: response is not JSON');
          }
          complete(samples.map((s, k) => ({ id: s.id, ok: true, label: labels?.[k] })));
        });
        res.on('error', (err) => {
          this.inFlight.delete(request);
          fail(`0: ${err.message}`);
        });
      },
    );
    this.inFlight.add(request);
    request.on('timeout', () => request.destroy(new Error(`no answer within ${this.o.timeoutMs ?? 30_000} ms`)));
    request.on('error', (err) => {
      if (!this.inFlight.delete(request)) return;
      fail(`0: ${err.message}`);
    });
    request.end(body);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.inFlight) r.destroy(new Error('cancelled'));
    this.inFlight.clear();
    for (const a of this.agents) a.destroy();
  }
}
