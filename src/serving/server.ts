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
import type { AddressInfo } from 'node:net';
import type { PredictionLogWriter } from '../knowledge/types.js';
import { DynamicBatcher, type BatchingOptions } from './batcher.js';
import { batchRunner, type RowMeta, type RowResult } from './batch-runner.js';
import { ServingMetrics } from './metrics.js';
import { ModelSlot } from './model-slot.js';
import type { ModelSource } from './model-source.js';
import type { InitialVersion, VersionChoice } from './model-version.js';
import { pollProductionVersion } from './registry-poller.js';
import { requestHandler } from './routes.js';
import type { ServingContext } from './serving-context.js';
import { VersionSwitcher, type SwitchResult } from './version-switcher.js';

export { SERVER_VERSION } from './routes.js';

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
  initialVersion?: InitialVersion;
  /** Poll the registry and switch to a newly promoted production version (ms; 0 = off, default). */
  pollProductionMs?: number;
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
  private stopPolling: (() => void) | undefined;
  private closed = false;
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
    const predictionLog = options.predictionLog;
    this.batcher = new DynamicBatcher(
      batching,
      batchRunner({ modelName, slot, metrics, predictionLog, logPixels: options.logPixels ?? true }),
    );
    if (predictionLog) metrics.pendingLogRecords = () => predictionLog.buffered;
    this.switcher = new VersionSwitcher(modelName, options.source, slot, metrics, this.log);
    const context: ServingContext = {
      modelName,
      slot,
      batcher: this.batcher,
      switcher: this.switcher,
      metrics,
      log: this.log,
    };
    const handle = requestHandler(context);
    this.http = createServer((req, res) => void handle(req, res));
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

  get port(): number {
    return (this.http.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Stops accepting, answers every request already received, flushes the prediction log, frees the model. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopPolling?.();
    const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    await this.batcher.idle();
    await stopped;
    await this.switcher.idle();
    await this.options.predictionLog?.close();
    this.slot.clear();
  }
}
