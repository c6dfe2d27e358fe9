/**
 * The online model server: Open Inference Protocol v2 over node:http, one model name, the
 * registry's versions loaded on native TensorFlow, dynamic batching, version switches that
 * never fail an in-flight request, every prediction appended to the prediction log, and
 * Prometheus metrics at /metrics.
 *
 * Routes (all JSON; errors are `{ "error": "..." }`):
 *   GET  /v2/health/live | /v2/health/ready          200, or 503 while no version is loaded
 *   GET  /v2                                          server metadata
 *   GET  /v2/models/{m}[/versions/{v}]                model metadata
 *   GET  /v2/models/{m}[/versions/{v}]/ready          200 / 503
 *   POST /v2/models/{m}[/versions/{v}]/infer          400 for a bad request, unknown model or version
 *   GET  /metrics                                     Prometheus text format
 *   GET  /admin/model                                 { model, version, loaded, leases, pending }
 *   POST /admin/model  { "version": 3 | "production" } load that version and switch to it
 * Unknown paths get 404, wrong methods 405.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { PredictionLogWriter } from '../knowledge/types.js';
import { DynamicBatcher, type Batch, type BatchingOptions } from './batcher.js';
import { ServingMetrics } from './metrics.js';
import { ModelSlot, type Lease } from './model-slot.js';
import type { ModelSource } from './model-source.js';
import type { ServableModel } from './servable-model.js';
import {
  CLASS_COUNT,
  ProtocolError,
  buildInferResponse,
  modelMetadata,
  parseInferRequest,
  serverMetadata,
  type InferRequest,
  type Prediction,
} from './protocol.js';
import { predictionRecords } from './prediction-records.js';

export const SERVER_VERSION = '0.1.0';
/** Largest request body accepted (a full 4096-image request in JSON is about 30 MB). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface ModelServerOptions {
  /** The model name clients use in /v2/models/{name}, and the registry's model name. */
  modelName: string;
  source: ModelSource;
  /** Every prediction is appended here; the writer flushes to the store in batches. */
  predictionLog?: PredictionLogWriter;
  /** Include the quantised input pixels in each prediction record (default true). */
  logPixels?: boolean;
  /** Batching off = every request is its own model call. Default { maxBatchSize: 256, maxWaitMs: 2, wait: 'arrivals' } (see batcher.ts). */
  batching?: BatchingOptions | false;
  /** Version to load at start: a number, 'production' (default), or 'none' to start empty. */
  initialVersion?: number | 'production' | 'none';
  /** Poll the registry and switch to a newly promoted production version (ms; 0 = off, default). */
  pollProductionMs?: number;
  /** Collect Node process metrics too (default true). */
  processMetrics?: boolean;
  log?: (line: string) => void;
}

interface RowMeta {
  requestId: string;
  /** A request to /versions/{v}/infer holds a lease on that version from validation to answer. */
  pinned?: Lease;
  sampleIds?: string[];
  images: Float32Array;
}

interface RowResult {
  version: string;
  prediction: Prediction;
}

export class ModelServer {
  readonly metrics: ServingMetrics;
  readonly slot: ModelSlot;
  private readonly batcher: DynamicBatcher<RowMeta, RowResult>;
  private readonly http: Server;
  private switching: Promise<unknown> = Promise.resolve();
  private pollTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly log: (line: string) => void;

  constructor(private readonly options: ModelServerOptions) {
    if (!/^[A-Za-z0-9._-]+$/.test(options.modelName))
      throw new Error(`modelName must be letters, digits and ._- only, got ${JSON.stringify(options.modelName)}`);
    this.log = options.log ?? ((line) => console.log(line));
    this.metrics = new ServingMetrics(options.processMetrics ?? true);
    this.slot = new ModelSlot((version, previous) => this.metrics.setVersion(options.modelName, version, previous));
    this.metrics.setVersion(options.modelName, undefined, undefined);
    const batching =
      options.batching === false
        ? { maxBatchSize: 1, maxWaitMs: 0 }
        : (options.batching ?? { maxBatchSize: 256, maxWaitMs: 2, wait: 'arrivals' });
    this.batcher = new DynamicBatcher(batching, (batch) => this.runBatch(batch));
    const logWriter = options.predictionLog;
    if (logWriter) this.metrics.pendingLogRecords = () => logWriter.buffered;
    this.http = createServer((req, res) => {
      void this.handle(req, res);
    });
    this.http.keepAliveTimeout = 30_000;
  }

  /** Loads the initial version, then listens. Resolves to the bound port. */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const initial = this.options.initialVersion ?? 'production';
    if (initial !== 'none') {
      const version = initial === 'production' ? await this.options.source.productionVersion() : initial;
      if (version === undefined)
        this.log(
          `model ${this.options.modelName}: no production version in the registry yet; serving nothing until one is loaded`,
        );
      else await this.switchTo(version);
    }
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => resolve());
    });
    if (this.options.pollProductionMs) this.startPolling(this.options.pollProductionMs);
    return (this.http.address() as AddressInfo).port;
  }

  /**
   * Loads `version` (or the registry's production version) and makes it the served one. The old
   * version keeps answering the requests already in a batch and is disposed once they finish.
   * Switches are serialised; switching to the version already served is a no-op.
   */
  switchTo(version: number | 'production'): Promise<{ version: string; previous: string | undefined }> {
    const next = this.switching.then(async () => {
      const target = version === 'production' ? await this.options.source.productionVersion() : version;
      if (target === undefined)
        throw new ProtocolError(409, `model ${this.options.modelName} has no production version in the registry`);
      const previous = this.slot.version;
      if (previous === String(target)) return { version: previous, previous };
      let model;
      try {
        model = await this.options.source.load(target);
      } catch (err) {
        this.metrics.modelLoadFailures.inc({ model: this.options.modelName });
        throw new Error(`cannot load model ${this.options.modelName} version ${target}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      this.slot.swap(model);
      this.log(`model ${this.options.modelName}: now serving version ${model.version} (was ${previous ?? 'none'})`);
      return { version: model.version, previous };
    });
    this.switching = next.catch(() => undefined);
    return next;
  }

  get port(): number {
    return (this.http.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Stops accepting, answers every request already received, flushes the prediction log, frees the model. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    await this.batcher.idle();
    await stopped;
    await this.switching;
    await this.options.predictionLog?.close();
    this.slot.clear();
  }

  private startPolling(everyMs: number): void {
    this.pollTimer = setInterval(() => {
      void this.options.source
        .productionVersion()
        .then((v) => (v !== undefined && String(v) !== this.slot.version ? this.switchTo(v) : undefined))
        .catch((err: unknown) =>
          this.log(`model ${this.options.modelName}: registry poll failed: ${(err as Error).message}`),
        );
    }, everyMs);
    this.pollTimer.unref();
  }

  // ------------------------------------------------------------------ batching

  private async runBatch(batch: Batch<RowMeta>): Promise<Array<RowResult | Error>> {
    const lease = this.slot.acquire();
    try {
      // Requests pinned to a version other than the current one (sent just before a switch)
      // run on that version, which their lease keeps in memory.
      const groups = new Map<ServableModel, Array<Batch<RowMeta>['parts'][number]>>();
      for (const part of batch.parts) {
        const model = part.meta.pinned?.model ?? lease.model;
        groups.set(model, [...(groups.get(model) ?? []), part]);
      }
      const results = new Map<Batch<RowMeta>['parts'][number], RowResult>();
      for (const [model, parts] of groups) {
        const whole = parts.length === batch.parts.length;
        const count = parts.reduce((n, p) => n + p.count, 0);
        const images = whole ? batch.images : concatRows(parts.map((p) => p.meta.images));
        const prediction = await model.predict(images, count);
        this.metrics.batchSize.observe({ model: this.options.modelName }, count);
        this.metrics.batchRequests.observe({ model: this.options.modelName }, parts.length);
        const time = new Date().toISOString();
        let offset = 0;
        for (const part of parts) {
          const slice: Prediction = {
            probabilities: prediction.probabilities.subarray(offset * CLASS_COUNT, (offset + part.count) * CLASS_COUNT),
            labels: prediction.labels.subarray(offset, offset + part.count),
          };
          offset += part.count;
          this.metrics.predictions.inc({ model: this.options.modelName, version: model.version }, part.count);
          this.logPredictions(part.meta, slice, model.version, time, part.count);
          results.set(part, { version: model.version, prediction: slice });
        }
      }
      return batch.parts.map((part) => results.get(part)!);
    } finally {
      lease.release();
    }
  }

  private logPredictions(meta: RowMeta, prediction: Prediction, version: string, time: string, count: number): void {
    const writer = this.options.predictionLog;
    if (!writer) return;
    const records = predictionRecords({
      model: this.options.modelName,
      version: Number(version),
      time,
      requestId: meta.requestId,
      sampleIds: meta.sampleIds,
      images: meta.images,
      count,
      prediction,
      withPixels: this.options.logPixels ?? true,
    });
    for (const r of records) writer.append(r);
    this.metrics.logAppended.inc(records.length);
  }

  // ------------------------------------------------------------------ HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    try {
      const infer = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/.exec(path);
      if (infer) {
        allow(req, 'POST');
        await this.infer(
          req,
          res,
          decodeURIComponent(infer[1]!),
          infer[2] === undefined ? undefined : decodeURIComponent(infer[2]),
        );
        return;
      }
      if (path === '/v2/health/live') {
        allow(req, 'GET');
        return send(res, 200, { live: true });
      }
      if (path === '/v2/health/ready') {
        allow(req, 'GET');
        return send(res, this.slot.ready ? 200 : 503, { ready: this.slot.ready });
      }
      if (path === '/v2') {
        allow(req, 'GET');
        return send(res, 200, serverMetadata(SERVER_VERSION));
      }
      const model = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready)?$/.exec(path);
      if (model) {
        allow(req, 'GET');
        const version = model[2] === undefined ? undefined : decodeURIComponent(model[2]);
        const known = this.knownModel(decodeURIComponent(model[1]!), version);
        if (model[3]) {
          const ready = known && this.slot.ready;
          return send(res, ready ? 200 : 503, { name: this.options.modelName, ready });
        }
        this.requireModel(decodeURIComponent(model[1]!), version);
        return send(
          res,
          200,
          modelMetadata(this.options.modelName, this.slot.version === undefined ? [] : [this.slot.version]),
        );
      }
      if (path === '/metrics') {
        allow(req, 'GET');
        res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
        res.end(await this.metrics.registry.metrics());
        return;
      }
      if (path === '/admin/model') return await this.admin(req, res);
      throw new ProtocolError(404, `no route ${req.method ?? ''} ${path} (see /v2/models/${this.options.modelName})`);
    } catch (err) {
      const status = err instanceof ProtocolError ? err.status : 500;
      if (status === 500) this.log(`${req.method ?? ''} ${path} failed: ${(err as Error).stack ?? String(err)}`);
      send(res, status, { error: (err as Error).message });
    }
  }

  private knownModel(name: string, version: string | undefined): boolean {
    return name === this.options.modelName && (version === undefined || version === this.slot.version);
  }

  private requireModel(name: string, version: string | undefined): void {
    if (name !== this.options.modelName)
      throw new ProtocolError(
        400,
        `unknown model ${JSON.stringify(name)}: this server serves "${this.options.modelName}"`,
      );
    if (version !== undefined && version !== this.slot.version) {
      throw new ProtocolError(
        400,
        `unknown version ${JSON.stringify(version)} of model "${name}": serving ${this.slot.version === undefined ? 'no version yet' : `version ${this.slot.version}`}`,
      );
    }
  }

  private async infer(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    version: string | undefined,
  ): Promise<void> {
    const started = process.hrtime.bigint();
    const model = this.options.modelName;
    let status = 200;
    // Queued requests may wait for this one while its body is read and parsed (batching policy 'arrivals').
    const arrival = this.batcher.arrive();
    let pinned: Lease | undefined;
    try {
      let request: InferRequest;
      try {
        this.requireModel(name, version);
        // Checked and leased in the same tick: a switch while the body is read cannot take it away.
        if (version !== undefined) pinned = this.slot.acquireVersion(version);
        request = parseInferRequest(await readBody(req));
      } catch (err) {
        this.metrics.errors.inc({ model, reason: name === model ? 'bad_request' : 'unknown_model' });
        throw err;
      } finally {
        arrival.done();
      }
      if (!this.slot.ready) {
        this.metrics.errors.inc({ model, reason: 'not_ready' });
        throw new ProtocolError(503, `model ${model} has no version loaded yet`);
      }
      const requestId = request.id ?? randomUUID();
      let result: RowResult;
      try {
        result = await this.batcher.submit(request.images, request.count, {
          requestId,
          pinned,
          sampleIds: request.sampleIds,
          images: request.images,
        });
      } catch (err) {
        this.metrics.errors.inc({ model, reason: 'model_error' });
        throw err;
      }
      send(
        res,
        200,
        buildInferResponse({
          modelName: model,
          version: result.version,
          id: requestId,
          count: request.count,
          prediction: result.prediction,
          outputs: request.outputs,
        }),
      );
    } catch (err) {
      status = err instanceof ProtocolError ? err.status : 500;
      throw err;
    } finally {
      pinned?.release();
      this.metrics.requests.inc({ model, code: String(status) });
      this.metrics.latency.observe({ model }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  private async admin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET') {
      return send(res, 200, {
        model: this.options.modelName,
        version: this.slot.version ?? null,
        loaded: this.slot.loadedVersions,
        leases: this.slot.leases,
        pending: this.batcher.pending,
      });
    }
    allow(req, 'POST');
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch (err) {
      throw new ProtocolError(400, `request body is not valid JSON: ${(err as Error).message}`);
    }
    const version = (body as { version?: unknown } | null)?.version;
    if (!(version === 'production' || (Number.isInteger(version) && (version as number) >= 1))) {
      throw new ProtocolError(
        400,
        `"version" must be a positive integer or "production", got ${JSON.stringify(version)}`,
      );
    }
    try {
      const switched = await this.switchTo(version as number | 'production');
      send(res, 200, { model: this.options.modelName, ...switched, previous: switched.previous ?? null });
    } catch (err) {
      if (err instanceof ProtocolError) throw err;
      throw new ProtocolError(400, (err as Error).message);
    }
  }
}

function concatRows(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function allow(req: IncomingMessage, method: string): void {
  if (req.method !== method) throw new ProtocolError(405, `method ${req.method ?? ''} not allowed here: use ${method}`);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new ProtocolError(
        413,
        `request body is larger than ${MAX_BODY_BYTES} bytes: split the images over several requests`,
      );
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
