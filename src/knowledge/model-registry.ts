/**
 * Model registry over a KnowledgeStore. The whole registry of one model is ONE JSON document
 * (`models/<name>/registry.json`) replaced by a single atomic put: promotion and archiving of the
 * previous production version happen together or not at all, and every rule is checked before
 * anything is written, so a refused or failed operation never changes the production version.
 * Model artifacts live beside it under `models/<name>/v<N>/`.
 *
 * Writers in different processes (two ML workers, a driver, the serving poller) never lose an
 * update: every change is a compare-and-swap of the document (conditional.ts: the S3 ETag with
 * `If-Match` / `If-None-Match`, or a content hash checked under a lock file on a local
 * directory). A writer that finds the document changed since it read it re-reads, re-applies its
 * change (re-checking the rules on the new state) and tries again. Inside one process writers
 * also queue up, so they do not even contend.
 *
 * `register` takes an idempotency key (an activity passes its workflow id, run id and activity
 * id): a retried registration returns the version the first attempt recorded, or finishes the one
 * it reserved, instead of adding a second candidate.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasConditionalWrites } from './conditional.js';
import { checkKey } from './keys.js';
import { loadModelFromStore, saveModelToStore } from './model-io.js';
import {
  KnowledgeError,
  type KnowledgeStore,
  type ModelRegistryApi,
  type ModelVersionRecord,
  type RegisterVersionInput,
} from './types.js';

interface Reservation {
  version: number;
  reservedAt: string;
}

interface RegistryDocument {
  model: string;
  /** Bumped on every write; lets readers and logs tell documents apart (and makes every write's bytes new). */
  revision: number;
  nextVersion: number;
  versions: ModelVersionRecord[];
  /** Version numbers reserved by a register with an idempotency key whose record is not written yet. */
  reservations?: Record<string, Reservation>;
}

const MODEL_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** A compare-and-swap lost this many times in a row gives up (retryable Backend error). */
const MAX_ATTEMPTS = 40;
/** Reservations of registrations never retried are dropped after this long. */
const RESERVATION_TTL_MS = 7 * 24 * 3600_000;

/** Pending registry writes per (store, registry document), shared by all instances in this process. */
const writeQueues = new Map<string, Promise<unknown>>();

/** Returned by a change that found nothing to do: the document is not rewritten. */
class Unchanged<T> {
  constructor(readonly value: T) {}
}
const unchanged = <T>(value: T): Unchanged<T> => new Unchanged(value);

/** Write attempts, lost compare-and-swaps and retries of this process (for tests and benchmarks). */
export const registryWriteStats = { writes: 0, conflicts: 0 };

function checkIdempotencyKey(key: unknown): string | undefined {
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || key.length === 0 || key.length > 512)
    throw new KnowledgeError(
      'InvalidInput',
      `register idempotencyKey must be a non-empty string of at most 512 characters, got ${JSON.stringify(key)?.slice(0, 80)}`,
    );
  return key;
}

export class ModelRegistry implements ModelRegistryApi {
  private readonly key: string;

  constructor(
    private readonly store: KnowledgeStore,
    readonly model: string,
  ) {
    if (typeof model !== 'string' || !MODEL_NAME.test(model)) {
      throw new KnowledgeError(
        'InvalidInput',
        `model name must be lower-case letters, digits and '-', got ${JSON.stringify(model)}`,
      );
    }
    this.key = `models/${model}/registry.json`;
  }

  artifactPrefix(version: number): string {
    return checkKey(`models/${this.model}/v${version}`);
  }

  private empty(): RegistryDocument {
    return { model: this.model, revision: 0, nextVersion: 1, versions: [] };
  }

  private parse(doc: RegistryDocument | undefined): RegistryDocument {
    if (!doc || doc.model !== this.model || !Array.isArray(doc.versions) || !Number.isInteger(doc.nextVersion)) {
      throw new KnowledgeError(
        'Corrupt',
        `${this.store.location}/${this.key} is not a registry document of model ${this.model}`,
      );
    }
    return doc;
  }

  /** The document and the tag it was read with (null: there is none yet). */
  private async load(): Promise<{ doc: RegistryDocument; tag: string | null }> {
    if (hasConditionalWrites(this.store)) {
      const found = await this.store.getVersioned(this.key);
      if (!found) return { doc: this.empty(), tag: null };
      let doc: RegistryDocument | undefined;
      try {
        doc = JSON.parse(Buffer.from(found.data).toString('utf8')) as RegistryDocument;
      } catch {
        doc = undefined;
      }
      return { doc: this.parse(doc), tag: found.tag };
    }
    if (!(await this.store.exists(this.key))) return { doc: this.empty(), tag: null };
    return { doc: this.parse(await this.store.getJson<RegistryDocument>(this.key)), tag: null };
  }

  private async read(): Promise<RegistryDocument> {
    return (await this.load()).doc;
  }

  /**
   * One read-modify-write; `change` throws to refuse (nothing is written) or returns
   * `unchanged(value)` when there is nothing to write. `change` may run more than once: it is
   * re-applied to the newer document whenever another writer got there first.
   */
  private mutate<T>(change: (doc: RegistryDocument) => Promise<T | Unchanged<T>> | T | Unchanged<T>): Promise<T> {
    // Every instance of this registry in the process (activities, the serving poller, a driver)
    // shares one queue, so they never contend with each other; other processes are handled by
    // the compare-and-swap in write().
    const queueKey = `${this.store.location}|${this.key}`;
    const run = (writeQueues.get(queueKey) ?? Promise.resolve()).then(() => this.write(change));
    writeQueues.set(
      queueKey,
      run.catch(() => undefined),
    );
    return run;
  }

  private async write<T>(change: (doc: RegistryDocument) => Promise<T | Unchanged<T>> | T | Unchanged<T>): Promise<T> {
    const store = this.store;
    for (let attempt = 1; ; attempt++) {
      const { doc, tag } = await this.load();
      const result = await change(doc);
      if (result instanceof Unchanged) return result.value;
      doc.revision += 1;
      registryWriteStats.writes += 1;
      if (!hasConditionalWrites(store)) {
        // A store without compare-and-swap: safe only with one writing process.
        await store.putJson(this.key, doc);
        return result;
      }
      if (await store.putIfUnchanged(this.key, Buffer.from(JSON.stringify(doc)), tag, 'application/json'))
        return result;
      registryWriteStats.conflicts += 1;
      if (attempt >= MAX_ATTEMPTS)
        throw new KnowledgeError(
          'Backend',
          `${store.location}/${this.key} was changed by other writers ${attempt} times in a row; giving up for now (retry later)`,
        );
      // Another process wrote first: back off a little (jittered, growing) and re-apply on its document.
      await sleep(Math.min(200, 4 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));
    }
  }

  private static find(doc: RegistryDocument, version: number): ModelVersionRecord {
    if (!Number.isInteger(version) || version < 1) {
      throw new KnowledgeError(
        'InvalidInput',
        `model version must be a positive integer, got ${JSON.stringify(version)}`,
      );
    }
    const record = doc.versions.find((v) => v.version === version);
    if (!record) {
      const known = doc.versions.map((v) => v.version).join(', ') || 'none';
      throw new KnowledgeError('NotFound', `model ${doc.model} has no version ${version} (versions: ${known})`);
    }
    return record;
  }

  async register(input: RegisterVersionInput): Promise<ModelVersionRecord> {
    if (!input?.model || typeof (input.model as { save?: unknown }).save !== 'function') {
      throw new KnowledgeError('InvalidInput', 'register needs a tfjs LayersModel in input.model');
    }
    const metrics = input.metrics ? checkMetrics(input.metrics) : {};
    if (!input.lineage || !Array.isArray(input.lineage.datasets)) {
      throw new KnowledgeError(
        'InvalidInput',
        'register needs lineage.datasets (the store keys the model was trained on; may be empty)',
      );
    }
    const idempotencyKey = checkIdempotencyKey(input.idempotencyKey);
    // Reserve the number first so two registrations never share artifacts; the record is
    // written only after the artifacts are safely stored. A retry with the same idempotency key
    // gets back the record (done) or the number its first attempt reserved (not done yet).
    const reserved = await this.mutate<{ done?: ModelVersionRecord; version: number }>((doc) => {
      if (idempotencyKey !== undefined) {
        const done = doc.versions.find((v) => v.idempotencyKey === idempotencyKey);
        if (done) return unchanged({ done: structuredClone(done), version: done.version });
        const pending = doc.reservations?.[idempotencyKey];
        if (pending) return unchanged({ version: pending.version });
      }
      const v = doc.nextVersion;
      doc.nextVersion += 1;
      if (idempotencyKey !== undefined) {
        const now = Date.now();
        const reservations = Object.entries(doc.reservations ?? {}).filter(
          ([, r]) => now - Date.parse(r.reservedAt) < RESERVATION_TTL_MS,
        );
        reservations.push([idempotencyKey, { version: v, reservedAt: new Date(now).toISOString() }]);
        doc.reservations = Object.fromEntries(reservations);
      }
      return { version: v };
    });
    if (reserved.done) return reserved.done;
    const version = reserved.version;
    await this.saveModel(input.model, version);
    return this.mutate((doc) => {
      const existing = doc.versions.find((v) => v.version === version);
      if (existing) {
        // Another attempt of the same registration finished first.
        if (idempotencyKey !== undefined && existing.idempotencyKey === idempotencyKey)
          return unchanged(structuredClone(existing));
        throw new KnowledgeError(
          'Corrupt',
          `${this.store.location}/${this.key} already has a version ${version} that this registration reserved`,
        );
      }
      const record: ModelVersionRecord = {
        model: this.model,
        version,
        stage: 'candidate',
        metrics,
        lineage: structuredClone(input.lineage),
        artifactPrefix: this.artifactPrefix(version),
        createdAt: new Date().toISOString(),
        ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      };
      doc.versions.push(record);
      if (idempotencyKey !== undefined && doc.reservations) {
        delete doc.reservations[idempotencyKey];
        if (Object.keys(doc.reservations).length === 0) delete doc.reservations;
      }
      return structuredClone(record);
    });
  }

  async recordMetrics(version: number, metrics: Record<string, number>): Promise<ModelVersionRecord> {
    const checked = checkMetrics(metrics);
    return this.mutate((doc) => {
      const record = ModelRegistry.find(doc, version);
      record.metrics = { ...record.metrics, ...checked };
      return structuredClone(record);
    });
  }

  async promote(version: number): Promise<ModelVersionRecord> {
    return this.mutate((doc) => {
      const record = ModelRegistry.find(doc, version);
      if (record.stage === 'production') return unchanged(structuredClone(record));
      if (record.stage === 'archived') {
        throw new KnowledgeError(
          'RegistryRule',
          `model ${this.model} version ${version} is archived and cannot be promoted`,
        );
      }
      if (Object.keys(record.metrics).length === 0) {
        throw new KnowledgeError(
          'RegistryRule',
          `model ${this.model} version ${version} has no metrics: evaluate it (recordMetrics) before promoting`,
        );
      }
      const now = new Date().toISOString();
      for (const other of doc.versions) {
        if (other.stage === 'production') {
          other.stage = 'archived';
          other.archivedAt = now;
        }
      }
      record.stage = 'production';
      record.promotedAt = now;
      return structuredClone(record);
    });
  }

  async archive(version: number): Promise<ModelVersionRecord> {
    return this.mutate((doc) => {
      const record = ModelRegistry.find(doc, version);
      if (record.stage === 'production') {
        throw new KnowledgeError(
          'RegistryRule',
          `model ${this.model} version ${version} is in production: promote another version instead of archiving it`,
        );
      }
      if (record.stage === 'archived') return unchanged(structuredClone(record));
      record.stage = 'archived';
      record.archivedAt = new Date().toISOString();
      return structuredClone(record);
    });
  }

  async production(): Promise<ModelVersionRecord | undefined> {
    const doc = await this.read();
    const record = doc.versions.find((v) => v.stage === 'production');
    return record && structuredClone(record);
  }

  async get(version: number): Promise<ModelVersionRecord> {
    return structuredClone(ModelRegistry.find(await this.read(), version));
  }

  async list(): Promise<ModelVersionRecord[]> {
    return (await this.read()).versions.map((v) => structuredClone(v)).sort((a, b) => a.version - b.version);
  }

  async saveModel(model: LayersModel, version: number): Promise<void> {
    if (!Number.isInteger(version) || version < 1)
      throw new KnowledgeError(
        'InvalidInput',
        `model version must be a positive integer, got ${JSON.stringify(version)}`,
      );
    await saveModelToStore(this.store, model, this.artifactPrefix(version));
  }

  async loadModel(version: number): Promise<LayersModel> {
    const record = await this.get(version);
    return loadModelFromStore(this.store, record.artifactPrefix);
  }
}

function checkMetrics(metrics: Record<string, number>): Record<string, number> {
  if (!metrics || typeof metrics !== 'object' || Array.isArray(metrics)) {
    throw new KnowledgeError('InvalidInput', 'metrics must be an object of name → finite number');
  }
  for (const [name, value] of Object.entries(metrics)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new KnowledgeError('InvalidInput', `metric ${name} must be a finite number, got ${JSON.stringify(value)}`);
    }
  }
  return { ...metrics };
}
