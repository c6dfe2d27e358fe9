/**
 * Runs one merged batch (many requests, see batcher.ts) on the model and gives every request its
 * rows back. A batch normally runs on the version current when it starts; requests pinned to
 * another version (sent to /versions/{v}/infer just before a switch) run on that one, which their
 * lease keeps in memory. Each slice of predictions is counted in the metrics and appended to the
 * prediction log with the version that produced it: the records are built after the responses
 * are written, and dropped (counted) when the log's bounded queue is full (prediction-queue.ts).
 */
import type { Batch } from './batcher.js';
import type { ServingMetrics } from './metrics.js';
import type { Lease, ModelSlot } from './model-slot.js';
import type { PredictionLogQueue } from './prediction-queue.js';
import { predictionRecords } from './prediction-records.js';
import { CLASS_COUNT, type Prediction } from './protocol.js';
import type { ServableModel } from './servable-model.js';

/** What a request hands the batcher besides its pixels. */
export interface RowMeta {
  requestId: string;
  /** A request to /versions/{v}/infer holds a lease on that version from validation to answer. */
  pinned?: Lease;
  sampleIds?: string[];
  images: Float32Array;
}

/** What each request gets back. */
export interface RowResult {
  version: string;
  prediction: Prediction;
}

export interface BatchRunnerOptions {
  modelName: string;
  slot: ModelSlot;
  metrics: ServingMetrics;
  predictionLog?: PredictionLogQueue;
  /** Include the quantised input pixels in each prediction record. */
  logPixels: boolean;
}

type Part = Batch<RowMeta>['parts'][number];

export function batchRunner(o: BatchRunnerOptions): (batch: Batch<RowMeta>) => Promise<RowResult[]> {
  const labels = { model: o.modelName };

  const log = (meta: RowMeta, prediction: Prediction, version: string, time: string, count: number): void => {
    o.predictionLog?.add(count, () =>
      predictionRecords({
        model: o.modelName,
        version: Number(version),
        time,
        requestId: meta.requestId,
        sampleIds: meta.sampleIds,
        images: meta.images,
        count,
        prediction,
        withPixels: o.logPixels,
      }),
    );
  };

  return async (batch) => {
    const lease = o.slot.acquire();
    try {
      const groups = new Map<ServableModel, Part[]>();
      for (const part of batch.parts) {
        const model = part.meta.pinned?.model ?? lease.model;
        const group = groups.get(model);
        if (group) group.push(part);
        else groups.set(model, [part]);
      }
      const results = new Map<Part, RowResult>();
      for (const [model, parts] of groups) {
        // The common case (nobody pinned elsewhere) reuses the batcher's merged pixels as they are.
        const whole = parts.length === batch.parts.length;
        const count = parts.reduce((n, p) => n + p.count, 0);
        const images = whole ? batch.images : concatRows(parts.map((p) => p.meta.images));
        const prediction = await model.predict(images, count);
        o.metrics.batchSize.observe(labels, count);
        o.metrics.batchRequests.observe(labels, parts.length);
        const time = new Date().toISOString();
        let offset = 0;
        for (const part of parts) {
          const slice: Prediction = {
            probabilities: prediction.probabilities.subarray(offset * CLASS_COUNT, (offset + part.count) * CLASS_COUNT),
            labels: prediction.labels.subarray(offset, offset + part.count),
          };
          offset += part.count;
          o.metrics.predictions.inc({ ...labels, version: model.version }, part.count);
          log(part.meta, slice, model.version, time, part.count);
          results.set(part, { version: model.version, prediction: slice });
        }
      }
      return batch.parts.map((part) => results.get(part)!);
    } finally {
      lease.release();
    }
  };
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
