/**
 * The case study's own sensors and actions (named activities on the `scanflow-ml` queue). They
 * are small adapters between the agents' strategies and the generic ML / knowledge activities:
 * which predictions are new, which labelled samples no model has seen, whether the newest
 * candidate beats production.
 */
import { ApplicationFailure } from '@temporalio/common';
import { getImageSet, putImageSet } from '../../knowledge/image-set.js';
import { ModelRegistry } from '../../knowledge/model-registry.js';
import { listPredictionBatches, readPredictionBatch, recordsToImageSet } from '../../knowledge/prediction-log.js';
import type { KnowledgeStore, ModelVersionRecord } from '../../knowledge/types.js';
import { resolveDataset } from '../../activities/ml/datasets.js';
import { DriftStream, type DriftPhase } from '../../ml/drift-stream.js';
import { batchIndexOfSample, CLASSIFIER_MODEL, HELD_OUT_KEY, HELD_OUT_METRIC, trafficBatchKey } from './names.js';

export interface CollectInput {
  /** Prediction-log batches after this key (exclusive; none = from the start)… */
  afterKey?: string | null;
  /** …up to this key (inclusive; none = everything there is now). */
  untilKey?: string | null;
  /** Seed of the traffic stream, to name the traffic batches the oracle labels from. */
  streamSeed: number;
  /** Unique per check (the caller's call id): names the collected dataset, making retries idempotent. */
  checkId: string;
}

export interface CollectResult {
  datasetKey: string;
  count: number;
  lastKey: string | null;
  trafficBatchKeys: string[];
}

export interface LabelledPool {
  /** Every labelled image set so far (what a retrain fine-tunes on). */
  keys: string[];
  /** Samples in labelled sets that no registered version was trained on yet. */
  newSamples: number;
  newKeys: string[];
}

export interface CandidateVerdict {
  /** A candidate newer than production waits for a decision. */
  pending: boolean;
  version: number | null;
  /** The version as text, as platform env vars and model-server admin calls take it. */
  versionText: string | null;
  candidateAccuracy: number | null;
  productionVersion: number | null;
  productionAccuracy: number | null;
  better: boolean;
}

const slug = (text: string): string => text.replace(/[^A-Za-z0-9._=-]+/g, '_');

export function createMnistAppActivities(deps: { store: KnowledgeStore; model?: string }) {
  const { store } = deps;
  const registry = new ModelRegistry(store, deps.model ?? CLASSIFIER_MODEL);

  return {
    /**
     * The held-out drifted evaluation set: `count` labelled images drawn from the case study's
     * reference digits (never served as traffic, never trained on), `share` of them corrupted with
     * the stream's corruptions. Written once; later calls return the existing set.
     */
    async mnistEnsureHeldOut(input: {
      seed: number;
      count: number;
      share: number;
      corruptions: DriftPhase['corruptions'];
    }): Promise<{ key: string; count: number }> {
      if (await store.exists(HELD_OUT_KEY))
        return { key: HELD_OUT_KEY, count: (await getImageSet(store, HELD_OUT_KEY)).count };
      if (!Number.isInteger(input?.count) || input.count < 1)
        throw ApplicationFailure.nonRetryable(
          `held-out count must be a positive integer, got ${JSON.stringify(input?.count)}`,
          'InvalidInput',
        );
      const source = await resolveDataset(store, 'case-study:reference');
      const stream = new DriftStream(
        {
          seed: input.seed,
          batchSize: input.count,
          schedule: [{ fromBatch: 0, share: input.share, corruptions: input.corruptions }],
          source,
        },
        0,
      );
      const batch = stream.batch(0);
      const ids = batch.images.ids ?? [];
      await putImageSet(store, HELD_OUT_KEY, {
        ...batch.images,
        ids: ids.map((id) => `heldout-${id}`),
        labels: stream.oracle.truthFor(ids),
      });
      return { key: HELD_OUT_KEY, count: batch.images.count };
    },

    /** The checker's first step: the logged inputs of the new predictions, as one dataset. */
    async mnistCollectPredictions(input: CollectInput): Promise<CollectResult> {
      if (!input?.checkId)
        throw ApplicationFailure.nonRetryable('mnistCollectPredictions needs checkId (the call id)', 'InvalidInput');
      if (!Number.isInteger(input.streamSeed))
        throw ApplicationFailure.nonRetryable(
          `streamSeed must be an integer, got ${JSON.stringify(input.streamSeed)}`,
          'InvalidInput',
        );
      const keys = (await listPredictionBatches(store, registry.model, input.afterKey ?? undefined)).filter(
        (k) => !input.untilKey || k <= input.untilKey,
      );
      const records = [];
      for (const key of keys) records.push(...(await readPredictionBatch(store, key)));
      const withPixels = records.filter((r) => r.pixelsBase64);
      const lastKey = keys.at(-1) ?? input.afterKey ?? null;
      if (withPixels.length === 0) return { datasetKey: '', count: 0, lastKey, trafficBatchKeys: [] };
      const images = recordsToImageSet(withPixels);
      const datasetKey = `checks/${slug(input.checkId)}.sfimg`;
      await putImageSet(store, datasetKey, images);
      const batches = new Set<number>();
      for (const id of images.ids ?? []) {
        const index = batchIndexOfSample(id);
        if (index !== undefined) batches.add(index);
      }
      return {
        datasetKey,
        count: images.count,
        lastKey,
        trafficBatchKeys: [...batches].sort((a, b) => a - b).map((i) => trafficBatchKey(input.streamSeed, i)),
      };
    },

    /** The planner's sensor: labelled samples (from the checker) that no model was trained on yet. */
    async mnistLabelledPool(): Promise<LabelledPool> {
      const keys = (await store.list('picked/')).filter((k) => k.endsWith('.labelled.sfimg'));
      const seen = new Set((await registry.list()).flatMap((v: ModelVersionRecord) => v.lineage.datasets));
      const newKeys = keys.filter((k) => !seen.has(k));
      let newSamples = 0;
      for (const key of newKeys) newSamples += (await getImageSet(store, key)).count;
      return { keys, newSamples, newKeys };
    },

    /** The planner's sensor for "IF new model accuracy > current": newest undecided candidate vs production. */
    async mnistCandidateVerdict(input: { metric?: string } = {}): Promise<CandidateVerdict> {
      const metric = input.metric ?? HELD_OUT_METRIC;
      const versions = await registry.list();
      const production = versions.find((v) => v.stage === 'production');
      const candidate = versions
        .filter((v) => v.stage === 'candidate' && (!production || v.version > production.version))
        .at(-1);
      const productionAccuracy = production?.metrics[metric] ?? null;
      const candidateAccuracy = candidate?.metrics[metric] ?? null;
      return {
        pending: candidate !== undefined,
        version: candidate?.version ?? null,
        versionText: candidate ? String(candidate.version) : null,
        candidateAccuracy,
        productionVersion: production?.version ?? null,
        productionAccuracy,
        better: candidateAccuracy !== null && (productionAccuracy === null || candidateAccuracy > productionAccuracy),
      };
    },
  };
}

export type MnistAppActivities = ReturnType<typeof createMnistAppActivities>;
