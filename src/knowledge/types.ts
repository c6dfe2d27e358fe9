/**
 * The knowledge base's public shapes: what activities, agents' activities and the model-serving
 * process program against. Two store backends implement `KnowledgeStore` (S3 through the `minio`
 * client, and a local directory); everything else (model registry, model files, datasets,
 * prediction log, reports) is built on top of that one small interface, so it works the same on
 * both. These signatures are stable: other parts of Scanflow import them.
 *
 * Keys are relative, '/'-separated paths such as `models/mnist-classifier/v3/model.json`.
 * Allowed characters: letters, digits, `._-=/`; no empty segment, no `.` or `..` segment.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';

// ---------------------------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------------------------

/** A flat key → bytes store. Single-object writes are atomic (readers see old or new, never half). */
export interface KnowledgeStore {
  /** Where it lives, for messages and reports: `s3://bucket/prefix` or `file:///abs/dir`. */
  readonly location: string;
  putBytes(key: string, data: Uint8Array, contentType?: string): Promise<void>;
  /** Throws `KnowledgeError` with code `NotFound` naming the key when it does not exist. */
  getBytes(key: string): Promise<Uint8Array>;
  putJson(key: string, value: unknown): Promise<void>;
  /** Throws `NotFound`, or `Corrupt` (naming the key) when the bytes are not valid JSON. */
  getJson<T = unknown>(key: string): Promise<T>;
  exists(key: string): Promise<boolean>;
  /** Every key that starts with `prefix` (recursive), sorted ascending. */
  list(prefix: string): Promise<string[]>;
  /** Deleting a key that does not exist is not an error (idempotent for retried activities). */
  delete(key: string): Promise<void>;
}

/** How to open a store (JSON-serialisable, so workers and the serving process take it from config). */
export type KnowledgeStoreConfig =
  | { kind: 'local'; directory: string }
  | {
      kind: 's3';
      endPoint: string;
      port?: number;
      useSSL?: boolean;
      accessKey: string;
      secretKey: string;
      region?: string;
      bucket: string;
      /** Optional key prefix inside the bucket, e.g. `scanflow/` (no leading slash). */
      prefix?: string;
    };

export type KnowledgeErrorCode = 'NotFound' | 'Corrupt' | 'InvalidInput' | 'RegistryRule' | 'Backend';

/** Every failure of the knowledge base: `code` says whether retrying can help (only `Backend`). */
export class KnowledgeError extends Error {
  constructor(
    readonly code: KnowledgeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KnowledgeError';
  }
}

// ---------------------------------------------------------------------------------------------
// Model registry
// ---------------------------------------------------------------------------------------------

export type ModelStage = 'candidate' | 'production' | 'archived';

/** Where a version came from: enough to reproduce it. */
export interface ModelLineage {
  /** The version this one was fine-tuned from (absent for a model trained from scratch). */
  parentVersion?: number;
  /** Store keys of the datasets it was trained on (e.g. picked samples). */
  datasets: string[];
  seed?: number;
  epochs?: number;
  /** Free-form: which workflow / agent produced it, why. */
  notes?: string;
}

export interface ModelVersionRecord {
  model: string;
  /** 1, 2, 3, … allocated by `register`. */
  version: number;
  stage: ModelStage;
  /** e.g. `{ accuracy: 0.991, 'accuracy.drifted': 0.93 }`. Promotion refuses a version without any. */
  metrics: Record<string, number>;
  lineage: ModelLineage;
  /** Store key prefix of the tfjs artifacts (`…/model.json`, `…/weights.bin`). */
  artifactPrefix: string;
  createdAt: string;
  promotedAt?: string;
  archivedAt?: string;
  /** The idempotency key it was registered with, if any (a retried register finds it by this). */
  idempotencyKey?: string;
}

export interface RegisterVersionInput {
  /** Saved into the store under the new version's artifact prefix before the record is written. */
  model: LayersModel;
  metrics?: Record<string, number>;
  lineage: ModelLineage;
  /**
   * Makes a retried registration return the first attempt's version instead of adding a second
   * candidate (an activity passes `<workflowId>/<runId>/<activityId>`). At most 512 characters.
   */
  idempotencyKey?: string;
}

/**
 * Versions of one named model (e.g. `mnist-classifier`, `mnist-detector`). The registry's whole
 * state is one JSON document written in a single atomic put, so promotion (new production +
 * previous production archived) is all-or-nothing, and a failed operation leaves it untouched.
 * Writers in one process are serialised; writers in different processes never lose an update:
 * each write is a compare-and-swap of the document (S3 conditional PUT on the ETag, or a lock
 * file + atomic rename on a local directory), re-applied on the newer document when it lost.
 */
export interface ModelRegistryApi {
  readonly model: string;
  /** Saves the model's artifacts, then records it as the next version with stage `candidate`. */
  register(input: RegisterVersionInput): Promise<ModelVersionRecord>;
  /** Sets / merges metrics of a version (e.g. after evaluation). Rejects non-finite numbers. */
  recordMetrics(version: number, metrics: Record<string, number>): Promise<ModelVersionRecord>;
  /**
   * Makes `version` the production version and archives the previous one, atomically. Refuses
   * (RegistryRule) a version with no metrics or an archived one; promoting the current production
   * version again is a no-op (idempotent for retried activities). Throws NotFound for an unknown version.
   */
  promote(version: number): Promise<ModelVersionRecord>;
  /** Moves a candidate to archived (refuses the production version: promote another first). */
  archive(version: number): Promise<ModelVersionRecord>;
  production(): Promise<ModelVersionRecord | undefined>;
  get(version: number): Promise<ModelVersionRecord>;
  list(): Promise<ModelVersionRecord[]>;
  /** Writes the tfjs artifacts of `version` (the registry's `register` calls this). */
  saveModel(model: LayersModel, version: number): Promise<void>;
  /** Loads the tfjs model of `version`; NotFound for an unknown version, Corrupt for bad artifacts. */
  loadModel(version: number): Promise<LayersModel>;
}

// ---------------------------------------------------------------------------------------------
// Prediction log
// ---------------------------------------------------------------------------------------------

/** One served prediction, as the model server logs it. */
export interface PredictionRecord {
  id: string;
  /** ISO-8601 time the prediction was served. */
  time: string;
  model: string;
  modelVersion: number;
  predicted: number;
  /** Softmax probability of the predicted class. */
  confidence: number;
  /** The input image quantised to bytes (784 values 0..255, row-major), base64. Lets the checker re-score it. */
  pixelsBase64?: string;
}

/**
 * Appends prediction records and writes them to the store in batches (one object per batch under
 * `predictions/<model>/<yyyy-mm-dd>/<time>-<writerId>-<seq>.json`), either when `batchSize` records
 * are buffered or when `flushIntervalMs` has passed. A failed flush keeps the records buffered.
 */
export interface PredictionLogWriter {
  append(record: PredictionRecord): void;
  /** Writes whatever is buffered now; resolves to the number of records written. */
  flush(): Promise<number>;
  /** Flushes and stops the timer. */
  close(): Promise<void>;
  readonly buffered: number;
}

export interface PredictionLogWriterOptions {
  model: string;
  batchSize?: number;
  flushIntervalMs?: number;
  /** Distinguishes concurrent writers (replicas); defaults to a random id. */
  writerId?: string;
}

export interface PredictionLogBatchRef {
  key: string;
  count: number;
}
