/**
 * The online model server: Open Inference Protocol v2 over node:http, one model name, the
 * registry's versions loaded on native TensorFlow, dynamic batching, version switches that
 * never fail an in-flight request, every prediction appended to the prediction log, and
 * Prometheus metrics at /metrics.
 *
 * This file assembles the parts and owns the lifecycle (load, listen, close); each job lives in
 * its own file: routes.ts (the URL table), infer-route.ts, admin-route.ts, batch-runner.ts (a
 * merged batch on the model, metrics and prediction log), version-switcher.ts, registry-poller.ts.
 */
import { createServer, type Server } from 'node:http';
import type { Server as GrpcServer } from '@grpc/grpc-js';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PredictionLogWriter } from '../knowledge/types.js';
import { DynamicBatcher, type BatchingOptions } from './batcher.js';
import { batchRunner, type RowMeta, type RowResult } from './batch-runner.js';
import { BodyBudget, MAX_BODY_BUDGET_BYTES, MAX_BODY_BYTES } from './http-io.js';
import { ServingMetrics } from './metrics.js';
import { ModelSlot } from './model-slot.js';
import type { ModelSource } from './model-source.js';
import type { InitialVersion, VersionChoice } from './model-version.js';
import { PredictionLogQueue, type PredictionQueueOptions } from './prediction-queue.js';
import { pollProductionVersion } from './registry-poller.js';
import { startGrpcServer } from './grpc-server.js';
import { SERVER_VERSION, requestHandler } from './routes.js';
import type { ClusterHooks, ServingContext } from './serving-context.js';
import { VersionSwitcher, type SwitchResult } from './version-switcher.js';

export { SERVER_VERSION };

export interface ModelServerOptions {
  /** The model name clients use in /v2/models/{name}, and the registry's model name. */
  modelName: string;
  source: ModelSource;
  /** Every prediction is appended here; the writer flushes to the store in batches. */
  predictionLog?: PredictionLogWriter;
  /** Include the quantised input pixels in each prediction record (default true). */
  logPixels?: boolean;
  /** The prediction log's bounded queue in front of the writer (see prediction-queue.ts). */
  predictionQueue?: PredictionQueueOptions;
  /** Largest infer body (default 32 MB) and bytes of bodies read at once (default 96 MB), see http-io.ts. */
  maxBodyBytes?: number;
  bodyBudgetBytes?: number;
  /** Batching off = every request is its own model call. Default { maxBatchSize: 256, maxWaitMs: 2, wait: 'arrivals' } (see batcher.ts). */
  batching?: BatchingOptions | false;
  /** Version to load at start: a number, 'production' (default), or 'none' to start empty. */
  initialVersion?: InitialVersion;
  /** Poll the registry and switch to a newly promoted production version (ms; 0 = off, default). */
  pollProductionMs?: number;
  /** Also serve `inference.GRPCInferenceService` on this port (0 = any free port; default: no gRPC). */
  grpcPort?: number;
  /**
   * Slow clients: a request's headers must arrive within headersTimeoutMs (default 10 s) and the whole
   * request within requestTimeoutMs (default 60 s), checked every second; else 408 and the connection closes.
   */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** One of several processes sharing the port (cluster.ts): switches and /metrics go through the primary. */
  cluster?: ClusterHooks;
  /**
   * Bearer token for /admin/model (from a Secret: SCANFLOW_ADMIN_TOKEN or --admin-token-file).
   * Without it the admin endpoint answers loopback callers only (admin-guard.ts).
   */
  adminToken?: string;
  /**
   * On close, keep serving up to this long (default 0) with `Connection: close` on every answer,
   * so keep-alive clients (a Service's connections stay pinned to this pod after it left the
   * endpoints) open their next connection elsewhere before the idle ones are closed; ends early
   * once no connection is left.
   */
  drainMs?: number;
  /** Collect Node process metrics too (default true). */
  processMetrics?: boolean;
  log?: (line: string) => void;
}

export class ModelServer {
  readonly metrics: ServingMetrics;
  readonly slot: ModelSlot;
  private readonly batcher: DynamicBatcher<RowMeta, RowResult>;
  private readonly switcher: VersionSwitcher;
  private readonly http: Server;
  private readonly predictionQueue: PredictionLogQueue | undefined;
  private grpc: { server: GrpcServer; port: number } | undefined;
  private stopPolling: (() => void) | undefined;
  private closed = false;
  private draining = false;
  private readonly sockets = new Set<Socket>();
  /** What the routes (HTTP, gRPC) share. */
  readonly context: ServingContext;
  private readonly log: (line: string) => void;

  constructor(private readonly options: ModelServerOptions) {
    const modelName = options.modelName;
    if (!/^[A-Za-z0-9._-]+$/.test(modelName))
      throw new Error(`modelName must be letters, digits and ._- only, got ${JSON.stringify(modelName)}`);
    this.log = options.log ?? ((line) => console.log(line));
    this.metrics = new ServingMetrics(options.processMetrics ?? true);
    this.slot = new ModelSlot((version, previous) => this.metrics.setVersion(modelName, version, previous));
    this.metrics.setVersion(modelName, undefined, undefined);
    const batching =
      options.batching === false
        ? { maxBatchSize: 1, maxWaitMs: 0 }
        : (options.batching ?? { maxBatchSize: 256, maxWaitMs: 2, wait: 'arrivals' });
    const { metrics, slot } = this;
    const predictionLog = options.predictionLog
      ? new PredictionLogQueue(options.predictionLog, metrics, this.log, options.predictionQueue)
      : undefined;
    this.predictionQueue = predictionLog;
    this.batcher = new DynamicBatcher(
      batching,
      batchRunner({ modelName, slot, metrics, predictionLog, logPixels: options.logPixels ?? true }),
    );
    this.switcher = new VersionSwitcher(modelName, options.source, slot, metrics, this.log);
    const context: ServingContext = {
      modelName,
      slot,
      batcher: this.batcher,
      switcher: this.switcher,
      metrics,
      ...(options.cluster ? { cluster: options.cluster } : {}),
      bodyLimits: {
        maxBytes: options.maxBodyBytes ?? MAX_BODY_BYTES,
        budget: new BodyBudget(options.bodyBudgetBytes ?? MAX_BODY_BUDGET_BYTES),
      },
      ...(options.adminToken ? { adminToken: options.adminToken } : {}),
      log: this.log,
    };
    this.context = context;
    const handle = requestHandler(context);
    const requestTimeout = options.requestTimeoutMs ?? 60_000;
    this.http = createServer(
      {
        headersTimeout: Math.min(options.headersTimeoutMs ?? 10_000, requestTimeout),
        requestTimeout,
        connectionsCheckingInterval: Math.min(1000, requestTimeout),
      },
      (req, res) => {
        if (this.draining) res.setHeader('connection', 'close');
        handle(req, res).catch((err: unknown) => {
          this.log(`request handler failed: ${(err as Error).stack ?? String(err)}`);
          res.destroy();
        });
      },
    );
    this.http.keepAliveTimeout = 30_000;
    this.http.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
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
    if (this.options.grpcPort !== undefined)
      this.grpc = await startGrpcServer(this.context, SERVER_VERSION, this.options.grpcPort, host);
    if (this.options.pollProductionMs) {
      this.stopPolling = pollProductionVersion({
        everyMs: this.options.pollProductionMs,
        source: this.options.source,
        switcher: this.switcher,
        served: () => this.slot.version,
        log: (line) => this.log(`model ${this.options.modelName}: ${line}`),
      });
    }
    return (this.http.address() as AddressInfo).port;
  }

  /**
   * Loads `version` (or the registry's production version) and makes it the served one. The old
   * version keeps answering the requests already in a batch and is disposed once they finish.
   */
  switchTo(version: VersionChoice): Promise<SwitchResult> {
    return this.switcher.switchTo(version);
  }

  /** Writes the prediction records held now; resolves to those still held (the store failed), 0 when none. */
  async flushPredictionLog(): Promise<number> {
    return (await this.predictionQueue?.flush()) ?? 0;
  }

  /** The bound gRPC port, undefined without gRPC. */
  get grpcPort(): number | undefined {
    return this.grpc?.port;
  }

  get port(): number {
    return (this.http.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Stops accepting, answers every request already received, flushes the prediction log, frees the model. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopPolling?.();
    const drainMs = this.options.drainMs ?? 0;
    if (drainMs > 0) {
      this.draining = true;
      const until = Date.now() + drainMs;
      while (this.sockets.size > 0 && Date.now() < until) await sleep(50);
    }
    const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    const grpc = this.grpc;
    const grpcStopped = grpc
      ? new Promise<void>((resolve) => grpc.server.tryShutdown(() => resolve()))
      : Promise.resolve();
    await this.batcher.idle();
    await stopped;
    await grpcStopped;
    await this.switcher.idle();
    await this.predictionQueue?.close();
    this.slot.clear();
  }
}
