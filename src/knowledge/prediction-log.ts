/**
 * The prediction log: the model server appends one record per prediction; records reach the
 * store in batches (one JSON object per batch), so serving never waits on the store and the
 * tracker counts predictions by listing batch objects.
 */
import { randomBytes } from 'node:crypto';
import type { ImageSet } from '../ml/types.js';
import { quantisePixels } from './fingerprint.js';
import { checkKey } from './keys.js';
import {
  KnowledgeError,
  type KnowledgeStore,
  type PredictionLogBatchRef,
  type PredictionLogWriter,
  type PredictionLogWriterOptions,
  type PredictionRecord,
} from './types.js';

interface BatchDocument {
  model: string;
  writerId: string;
  records: PredictionRecord[];
}

export function predictionLogPrefix(model: string): string {
  return `${checkKey(`predictions/${model}`)}/`;
}

/** A batch cut from the buffer, with the key it is written under on every attempt. */
interface CutBatch {
  key: string;
  records: PredictionRecord[];
}

export class BatchedPredictionLogWriter implements PredictionLogWriter {
  private records: PredictionRecord[] = [];
  /** Batches whose write failed, retried first and under the same key (see enqueue). */
  private failed: CutBatch[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<number> = Promise.resolve(0);
  private readonly model: string;
  private readonly batchSize: number;
  private readonly writerId: string;

  constructor(
    private readonly store: KnowledgeStore,
    options: PredictionLogWriterOptions,
  ) {
    this.model = options.model;
    predictionLogPrefix(this.model);
    this.batchSize = options.batchSize ?? 100;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1)
      throw new KnowledgeError('InvalidInput', `batchSize must be a positive integer, got ${options.batchSize}`);
    this.writerId = options.writerId ?? randomBytes(4).toString('hex');
    checkKey(this.writerId, 'writerId');
    const interval = options.flushIntervalMs ?? 5000;
    if (interval > 0) {
      this.timer = setInterval(() => void this.flush().catch(() => undefined), interval);
      this.timer.unref();
    }
  }

  get buffered(): number {
    return this.records.length + this.failed.reduce((n, b) => n + b.records.length, 0);
  }

  append(record: PredictionRecord): void {
    if (
      !record ||
      typeof record.id !== 'string' ||
      !Number.isInteger(record.predicted) ||
      typeof record.confidence !== 'number'
    ) {
      throw new KnowledgeError(
        'InvalidInput',
        'prediction record needs id (string), predicted (integer) and confidence (number)',
      );
    }
    this.records.push(record);
    if (this.records.length >= this.batchSize)
      void this.enqueue(this.cut(this.records.splice(0, this.batchSize))).catch(() => undefined);
  }

  /** Writes whatever is buffered now (failed batches first, then batches of at most batchSize) after the writes already queued. */
  async flush(): Promise<number> {
    const writes: Promise<number>[] = [];
    for (const batch of this.failed.splice(0)) writes.push(this.enqueue(batch));
    while (this.records.length > 0) writes.push(this.enqueue(this.cut(this.records.splice(0, this.batchSize))));
    writes.push(this.flushing);
    const counts = await Promise.all(writes);
    return counts.slice(0, -1).reduce((a, b) => a + b, 0);
  }

  /** The batch's key is fixed when it is cut (keys sort by the time of the predictions). */
  private cut(records: PredictionRecord[]): CutBatch {
    const now = new Date();
    const day = now.toISOString().slice(0, 10);
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    this.seq += 1;
    const key = `${predictionLogPrefix(this.model)}${day}/${stamp}-${this.writerId}-${String(this.seq).padStart(6, '0')}.json`;
    return { key, records };
  }

  /**
   * Batches are written one after another, in the order they were cut. A failed batch is kept
   * whole and written again under the same key: a PUT that reached the store although its answer
   * was lost (the server died mid-reply) is overwritten by the retry, never duplicated.
   */
  private enqueue(batch: CutBatch): Promise<number> {
    const write = this.flushing
      .catch(() => 0)
      .then(async () => {
        const doc: BatchDocument = { model: this.model, writerId: this.writerId, records: batch.records };
        try {
          await this.store.putJson(batch.key, doc);
        } catch (err) {
          // Nothing logged is dropped on a store hiccup: the next flush writes it first.
          this.failed.push(batch);
          throw err;
        }
        return batch.records.length;
      });
    this.flushing = write;
    return write;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}

/** Batch objects of a model's log written after `afterKey` (keys sort by time), oldest first. */
export async function listPredictionBatches(
  store: KnowledgeStore,
  model: string,
  afterKey?: string,
): Promise<string[]> {
  const keys = await store.list(predictionLogPrefix(model));
  return afterKey ? keys.filter((k) => k > afterKey) : keys;
}

export async function readPredictionBatch(store: KnowledgeStore, key: string): Promise<PredictionRecord[]> {
  const doc = await store.getJson<BatchDocument>(key);
  if (!doc || !Array.isArray(doc.records))
    throw new KnowledgeError('Corrupt', `${store.location}/${key} is not a prediction log batch`);
  return doc.records;
}

export async function countPredictions(store: KnowledgeStore, keys: string[]): Promise<PredictionLogBatchRef[]> {
  const refs: PredictionLogBatchRef[] = [];
  for (const key of keys) refs.push({ key, count: (await readPredictionBatch(store, key)).length });
  return refs;
}

/** Encodes a [0,1] image as the log's base64 bytes. */
export function pixelsToBase64(pixels: ArrayLike<number>): string {
  // One quantisation for the log and the oracle's fingerprints (fingerprint.ts): they must agree.
  return quantisePixels(pixels).toString('base64');
}

/** The logged inputs as an image set (records without pixels are skipped), ids = prediction ids. */
export function recordsToImageSet(records: PredictionRecord[], height = 28, width = 28): ImageSet {
  const withPixels = records.filter((r) => r.pixelsBase64);
  const size = height * width;
  const pixels = new Float32Array(withPixels.length * size);
  withPixels.forEach((r, i) => {
    const bytes = Buffer.from(r.pixelsBase64 ?? '', 'base64');
    if (bytes.length !== size)
      throw new KnowledgeError('Corrupt', `prediction ${r.id} has ${bytes.length} pixel bytes, expected ${size}`);
    for (let j = 0; j < size; j++) pixels[i * size + j] = (bytes[j] ?? 0) / 255;
  });
  return { count: withPixels.length, height, width, pixels, ids: withPixels.map((r) => r.id) };
}
