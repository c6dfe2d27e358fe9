/**
 * Model registry over a KnowledgeStore. The whole registry of one model is ONE JSON document
 * (`models/<name>/registry.json`) replaced by a single atomic put: promotion and archiving of the
 * previous production version happen together or not at all, and every rule is checked before
 * anything is written, so a refused or failed operation never changes the production version.
 * Model artifacts live beside it under `models/<name>/v<N>/`.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { checkKey } from './keys.js';
import { loadModelFromStore, saveModelToStore } from './model-io.js';
import {
  KnowledgeError,
  type KnowledgeStore,
  type ModelRegistryApi,
  type ModelVersionRecord,
  type RegisterVersionInput,
} from './types.js';

interface RegistryDocument {
  model: string;
  /** Bumped on every write; lets readers and logs tell documents apart. */
  revision: number;
  nextVersion: number;
  versions: ModelVersionRecord[];
}

const MODEL_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Pending registry writes per (store, registry document), shared by all instances in this process. */
const writeQueues = new Map<string, Promise<unknown>>();

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

  private async read(): Promise<RegistryDocument> {
    if (!(await this.store.exists(this.key))) return { model: this.model, revision: 0, nextVersion: 1, versions: [] };
    const doc = await this.store.getJson<RegistryDocument>(this.key);
    if (!doc || doc.model !== this.model || !Array.isArray(doc.versions) || !Number.isInteger(doc.nextVersion)) {
      throw new KnowledgeError(
        'Corrupt',
        `${this.store.location}/${this.key} is not a registry document of model ${this.model}`,
      );
    }
    return doc;
  }

  /** One read-modify-write at a time; `change` throws to refuse, and then nothing is written. */
  private mutate<T>(change: (doc: RegistryDocument) => Promise<T> | T): Promise<T> {
    // Every instance of this registry in the process (activities, the serving poller, a driver)
    // shares one queue, so two of them can never interleave a read-modify-write.
    const queueKey = `${this.store.location}|${this.key}`;
    const run = (writeQueues.get(queueKey) ?? Promise.resolve()).then(async () => {
      const doc = await this.read();
      const result = await change(doc);
      doc.revision += 1;
      await this.store.putJson(this.key, doc);
      return result;
    });
    writeQueues.set(
      queueKey,
      run.catch(() => undefined),
    );
    return run;
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
    // Reserve the number first so two registrations never share artifacts; the record is
    // written only after the artifacts are safely stored.
    const version = await this.mutate((doc) => {
      const v = doc.nextVersion;
      doc.nextVersion += 1;
      return v;
    });
    await this.saveModel(input.model, version);
    return this.mutate((doc) => {
      const record: ModelVersionRecord = {
        model: this.model,
        version,
        stage: 'candidate',
        metrics,
        lineage: structuredClone(input.lineage),
        artifactPrefix: this.artifactPrefix(version),
        createdAt: new Date().toISOString(),
      };
      doc.versions.push(record);
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
      if (record.stage === 'production') return structuredClone(record);
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
      if (record.stage !== 'archived') {
        record.stage = 'archived';
        record.archivedAt = new Date().toISOString();
      }
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
