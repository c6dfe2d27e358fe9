/**
 * Knowledge-base activities: the model registry (promote, archive, record metrics, read), the
 * prediction log (count new predictions, collect their inputs into a dataset), the label budget,
 * and agent reports. Registry writes of one model should run on ONE worker / task queue at a time
 * (see ModelRegistryApi): the registry serialises writers within a process only.
 */
import { putImageSet } from '../../knowledge/image-set.js';
import { ModelRegistry } from '../../knowledge/model-registry.js';
import { listPredictionBatches, readPredictionBatch, recordsToImageSet } from '../../knowledge/prediction-log.js';
import { checkKey } from '../../knowledge/keys.js';
import type { KnowledgeStore, ModelVersionRecord } from '../../knowledge/types.js';
import { asActivity } from '../support.js';
import { getBudget, setBudget, type OracleBudget } from '../ml/label-oracle.js';

export interface KnowledgeActivityDeps {
  store: KnowledgeStore;
}

export interface ModelRef {
  model: string;
  version: number;
}

export interface PredictionCount {
  model: string;
  count: number;
  batches: number;
  /** Pass as `afterKey` next time to count only newer predictions. */
  lastKey: string | undefined;
}

export function createKnowledgeActivities(deps: KnowledgeActivityDeps) {
  const { store } = deps;
  const registries = new Map<string, ModelRegistry>();
  const registry = (model: string): ModelRegistry => {
    let r = registries.get(model);
    if (!r) {
      r = new ModelRegistry(store, model);
      registries.set(model, r);
    }
    return r;
  };

  return {
    async promoteModel(input: ModelRef): Promise<ModelVersionRecord> {
      return asActivity('promoteModel', () => registry(input.model).promote(input.version));
    },

    async archiveModel(input: ModelRef): Promise<ModelVersionRecord> {
      return asActivity('archiveModel', () => registry(input.model).archive(input.version));
    },

    async recordModelMetrics(input: ModelRef & { metrics: Record<string, number> }): Promise<ModelVersionRecord> {
      return asActivity('recordModelMetrics', () => registry(input.model).recordMetrics(input.version, input.metrics));
    },

    async getModelVersion(input: ModelRef): Promise<ModelVersionRecord> {
      return asActivity('getModelVersion', () => registry(input.model).get(input.version));
    },

    /** The production version, or null when none was promoted yet. */
    async getProductionModel(input: { model: string }): Promise<ModelVersionRecord | null> {
      return asActivity('getProductionModel', async () => (await registry(input.model).production()) ?? null);
    },

    async listModelVersions(input: { model: string }): Promise<ModelVersionRecord[]> {
      return asActivity('listModelVersions', () => registry(input.model).list());
    },

    async countPredictions(input: { model: string; afterKey?: string }): Promise<PredictionCount> {
      return asActivity('countPredictions', async () => {
        const keys = await listPredictionBatches(store, input.model, input.afterKey);
        let count = 0;
        for (const key of keys) count += (await readPredictionBatch(store, key)).length;
        return { model: input.model, count, batches: keys.length, lastKey: keys.at(-1) ?? input.afterKey };
      });
    },

    /**
     * Gathers the logged inputs of predictions newer than `afterKey` (records that carry pixels)
     * into one image set for the detector; ids are the prediction ids.
     */
    async collectPredictions(input: {
      model: string;
      afterKey?: string;
      outputKey: string;
      maxRecords?: number;
    }): Promise<{ datasetKey: string; count: number; lastKey: string | undefined; batchKeys: string[] }> {
      return asActivity('collectPredictions', async () => {
        checkKey(input.outputKey, 'outputKey');
        const keys = await listPredictionBatches(store, input.model, input.afterKey);
        const records = [];
        const used: string[] = [];
        for (const key of keys) {
          if (input.maxRecords !== undefined && records.length >= input.maxRecords) break;
          records.push(...(await readPredictionBatch(store, key)));
          used.push(key);
        }
        const images = recordsToImageSet(records);
        if (images.count === 0)
          return { datasetKey: '', count: 0, lastKey: used.at(-1) ?? input.afterKey, batchKeys: used };
        await putImageSet(store, input.outputKey, images);
        return {
          datasetKey: input.outputKey,
          count: images.count,
          lastKey: used.at(-1) ?? input.afterKey,
          batchKeys: used,
        };
      });
    },

    async setLabelBudget(input: { budget: number }): Promise<OracleBudget> {
      return asActivity('setLabelBudget', () => setBudget(store, input.budget));
    },

    async getLabelBudget(): Promise<OracleBudget> {
      return asActivity('getLabelBudget', () => getBudget(store));
    },

    async countArtifacts(input: { prefix: string }): Promise<{ prefix: string; count: number; keys: string[] }> {
      return asActivity('countArtifacts', async () => {
        const keys = await store.list(input.prefix);
        return { prefix: input.prefix, count: keys.length, keys: keys.slice(0, 1000) };
      });
    },

    async putReport(input: { key: string; report: unknown }): Promise<{ key: string }> {
      return asActivity('putReport', async () => {
        const key = checkKey(`reports/${input.key}`, 'report key');
        await store.putJson(key, input.report);
        return { key };
      });
    },
  };
}

export type KnowledgeActivities = ReturnType<typeof createKnowledgeActivities>;
