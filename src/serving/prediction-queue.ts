/**
 * The prediction log, off the request's critical path and bounded. The batch runner hands each
 * request's predictions over as a group whose records are built later (one setImmediate after the
 * batch, once the responses are written: quantising pixels to base64 is not the client's wait).
 * Records wait in a queue of at most `maxRecords`; past it new records are dropped and counted
 * (`scanflow_prediction_log_dropped_total`) instead of growing memory. A drain hands the writer one
 * batch at a time and flushes it; when the store fails (S3 down) the writer keeps that one batch,
 * the failure is counted (`scanflow_prediction_log_write_failures_total`), and the drain retries
 * with exponential backoff (0.5 s doubling to 30 s), so memory stays at the queue's bound and the
 * store is not hammered; the first successful write resumes the normal pace and logs the recovery.
 */
import type { PredictionLogWriter, PredictionRecord } from '../knowledge/types.js';
import type { ServingMetrics } from './metrics.js';

export interface PredictionQueueOptions {
  /** Records held at most (default 10,000: about 12 MB with pixels). */
  maxRecords?: number;
  /** Records handed to the writer per write (default 200). */
  batchSize?: number;
  /** A partial batch is written after this long (ms, default 2000). */
  flushIntervalMs?: number;
  /** First retry delay after a failed write (ms, default 500), doubled up to maxBackoffMs (default 30,000). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export class PredictionLogQueue {
  private records: PredictionRecord[] = [];
  private unbuilt: Array<() => PredictionRecord[]> = [];
  private unbuiltCount = 0;
  private building: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private backoffMs = 0;
  private retryAt = 0;
  private failing = false;
  private closed = false;
  private readonly maxRecords: number;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(
    private readonly writer: PredictionLogWriter,
    private readonly metrics: ServingMetrics,
    private readonly log: (line: string) => void,
    options: PredictionQueueOptions = {},
  ) {
    this.maxRecords = options.maxRecords ?? 10_000;
    this.batchSize = options.batchSize ?? 200;
    this.flushIntervalMs = options.flushIntervalMs ?? 2000;
    this.minBackoffMs = options.minBackoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    for (const [name, v] of Object.entries({
      maxRecords: this.maxRecords,
      batchSize: this.batchSize,
      minBackoffMs: this.minBackoffMs,
      maxBackoffMs: this.maxBackoffMs,
    }))
      if (!Number.isInteger(v) || v < 1) throw new Error(`prediction log ${name} must be an integer >= 1, got ${v}`);
    if (this.flushIntervalMs > 0) {
      this.timer = setInterval(() => this.drain(true), this.flushIntervalMs);
      this.timer.unref();
    }
    metrics.pendingLogRecords = () => this.pending;
  }

  /** Records held here and in the writer, not yet in the store. */
  get pending(): number {
    return this.records.length + this.unbuiltCount + this.writer.buffered;
  }

  /** Queues `count` records built later by `build`; false (and counted as dropped) when the queue is full. */
  add(count: number, build: () => PredictionRecord[]): boolean {
    if (this.closed || this.records.length + this.unbuiltCount + count > this.maxRecords) {
      this.metrics.logDropped.inc(count);
      return false;
    }
    this.unbuilt.push(build);
    this.unbuiltCount += count;
    this.building ??= setImmediate(() => {
      this.building = undefined;
      this.build();
      if (this.records.length >= this.batchSize) this.drain(false);
    });
    return true;
  }

  private build(): void {
    for (const make of this.unbuilt.splice(0)) {
      for (const r of make()) this.records.push(r);
    }
    this.unbuiltCount = 0;
  }

  /** One drain at a time; `partial`: write a batch even if it is not full (timer, close). */
  private drain(partial: boolean): void {
    if (this.draining || Date.now() < this.retryAt) return;
    this.draining = this.run(partial).finally(() => {
      this.draining = undefined;
    });
  }

  private async run(partial: boolean): Promise<void> {
    for (;;) {
      if (this.writer.buffered === 0) {
        if (this.records.length === 0 || (!partial && this.records.length < this.batchSize)) return;
        const batch = this.records.splice(0, this.batchSize);
        for (const r of batch) this.writer.append(r);
        this.metrics.logAppended.inc(batch.length);
      }
      try {
        await this.writer.flush();
      } catch (err) {
        this.metrics.logWriteFailures.inc();
        this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs ? this.backoffMs * 2 : this.minBackoffMs);
        this.retryAt = Date.now() + this.backoffMs;
        if (!this.failing)
          this.log(
            `prediction log: write failed (${(err as Error).message}); ${this.pending} records held, retrying with backoff, dropping past ${this.maxRecords}`,
          );
        this.failing = true;
        if (!this.closed) {
          const retry = setTimeout(() => this.drain(true), this.backoffMs);
          retry.unref();
        }
        return;
      }
      if (this.failing) this.log(`prediction log: store writable again, ${this.pending} records left to write`);
      this.failing = false;
      this.backoffMs = 0;
      this.retryAt = 0;
    }
  }

  /** Writes everything held now (ignoring a backoff); resolves to the records still held (0 when the store took all). */
  async flush(): Promise<number> {
    if (this.building) clearImmediate(this.building);
    this.building = undefined;
    this.build();
    await this.draining;
    this.retryAt = 0;
    this.drain(true);
    await this.draining;
    return this.pending;
  }

  /** Writes what is held (one attempt per batch while the store answers), then closes the writer. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.building) clearImmediate(this.building);
    this.building = undefined;
    this.build();
    await this.draining;
    this.retryAt = 0;
    this.drain(true);
    await this.draining;
    if (this.pending > 0) {
      this.metrics.logDropped.inc(this.pending);
      this.log(`prediction log: ${this.pending} records could not be written before shutdown`);
      return;
    }
    await this.writer.close();
  }
}
