/**
 * Turns one request's predictions into prediction-log records. The input reference is the
 * caller's sample id when it sent `parameters.sample_ids` (the stream's id, joinable with the
 * oracle's labels), else `<request id>-<row>`; the pixels themselves travel quantised to bytes
 * so the checker can re-score exactly what was served.
 */
import { pixelsToBase64 } from '../knowledge/prediction-log.js';
import type { PredictionRecord } from '../knowledge/types.js';
import { CLASS_COUNT, IMAGE_SIZE, type Prediction } from './protocol.js';

export interface PredictionRecordInput {
  model: string;
  version: number;
  time: string;
  requestId: string;
  sampleIds?: string[];
  images: Float32Array;
  count: number;
  prediction: Prediction;
  withPixels: boolean;
}

export function predictionRecords(input: PredictionRecordInput): PredictionRecord[] {
  const { model, version, time, requestId, sampleIds, images, count, prediction, withPixels } = input;
  const records: PredictionRecord[] = [];
  for (let row = 0; row < count; row += 1) {
    const predicted = prediction.labels[row] ?? -1;
    const record: PredictionRecord = {
      id: sampleIds?.[row] ?? `${requestId}-${row}`,
      time,
      model,
      modelVersion: version,
      predicted,
      confidence: prediction.probabilities[row * CLASS_COUNT + predicted] ?? 0,
    };
    if (withPixels) record.pixelsBase64 = pixelsToBase64(images.subarray(row * IMAGE_SIZE, (row + 1) * IMAGE_SIZE));
    records.push(record);
  }
  return records;
}
