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
import { evaluationSidecarKey, STREAM_EVAL_PREFIX } from '../../activities/ml/picking.js';
import { getBudget, labelIds } from '../../activities/ml/label-oracle.js';
import { predict } from '../../ml/classifier.js';
import { DriftStream, type DriftPhase } from '../../ml/drift-stream.js';
import { concatImageSets } from '../../ml/mnist.js';
import {
  compareDiscordant,
  comparePaired,
  decidePromotion,
  type PairedComparison,
  type PromotionDecision,
  type PromotionRule,
} from '../../ml/promotion.js';
import type { LayersModel } from '@tensorflow/tfjs-node';
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
  /** On the basis below (stream evaluation samples, or the fixed held-out set). */
  candidateAccuracy: number | null;
  productionVersion: number | null;
  productionAccuracy: number | null;
  /** true: promote; false: reject (archive); null: wait for more evaluation samples (or nothing pending). */
  better: boolean | null;
  /** What the decision was taken on: the stream's own labelled evaluation samples, or the fixed held-out set. */
  basis: 'stream' | 'fixed' | null;
  decision: PromotionDecision | null;
  /** The paired comparison and the rule (n, fixed/broken counts, difference, lower bound, p), and a readable reason. */
  comparison:
    | (Omit<PairedComparison, 'candidateAccuracy' | 'productionAccuracy' | 'lowerBound'> & {
        candidateAccuracy: number | null;
        productionAccuracy: number | null;
        lowerBound: number | null;
        rule: Required<PromotionRule>;
      })
    | null;
  reason: string | null;
  /** Stream basis: evaluation samples, how many the two models answer differently, how many of those carry a true label (spentNow: asked of the oracle by this call). */
  labelling: { samples: number; disagreements: number; labelled: number; spentNow: number } | null;
  /** The second figure: accuracy on the fixed held-out drifted set (as recorded by the training workflow). */
  fixed: { candidate: number | null; production: number | null };
}

export interface VerdictInput extends PromotionRule {
  /** Most true labels evaluation may spend over the whole run (disagreements only); default: the budget. */
  labelCap?: number;
  /** Most disagreements labelled per candidate (a uniform random subset, evaluationOrder); default 40. */
  labelsPerVerdict?: number;
  /** Registry metric of the fixed held-out set; default accuracy.drifted. */
  metric?: string;
}

/**
 * One fixed pseudo-random order of evaluation sample ids (FNV-1a of the id; ties by id), the same
 * for every candidate and every call: which disagreements get labelled never depends on a model.
 */
export function evaluationOrder(ids: readonly string[]): string[] {
  const key = (id: string): number => {
    let h = 0x811c9dc5;
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
    return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  };
  return [...ids].sort((a, b) => key(a) - key(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** True labels the verdict asked the oracle for, by sample id (each evaluation sample is labelled at most once). */
const EVAL_LABELS_KEY = 'eval/stream-labels.json';

const slug = (text: string): string => text.replace(/[^A-Za-z0-9._=-]+/g, '_');

export function createMnistAppActivities(deps: { store: KnowledgeStore; model?: string }) {
  const { store } = deps;
  const registry = new ModelRegistry(store, deps.model ?? CLASSIFIER_MODEL);
  /** `cache`'s value for `key`, made once (a failed make is forgotten, so the next call retries). */
  const memo = <K, T>(cache: Map<K, Promise<T>>, key: K, make: () => Promise<T>): Promise<T> => {
    let value = cache.get(key);
    if (!value) {
      value = make();
      cache.set(key, value);
      value.catch(() => cache.delete(key));
    }
    return value;
  };
  // Versions are immutable: a loaded classifier is kept for the worker's life (a few MB each).
  const models = new Map<number, Promise<LayersModel>>();
  const model = (version: number): Promise<LayersModel> => memo(models, version, () => registry.loadModel(version));
  // An evaluation set is written once, by the check it is named after (a retried sampling writes
  // the same seeded sample), and versions are immutable: each set is read once per worker and
  // each version answers it once. The planner senses the verdict in each of its strategies and
  // the pool grows by a set a check, so without this every sensing re-read and re-predicted all of
  // it (2 × 180 ms at the demo's 5,400 samples).
  interface EvaluationSet {
    images: Awaited<ReturnType<typeof getImageSet>>;
    batchKeys: string[];
    answers: Map<number, Promise<Int32Array>>;
  }
  const evaluationSets = new Map<string, Promise<EvaluationSet>>();
  const readEvaluationSet = (key: string) =>
    memo(evaluationSets, key, async () => {
      const sidecar = (await store.exists(evaluationSidecarKey(key)))
        ? await store.getJson<{ batchKeys?: string[] }>(evaluationSidecarKey(key))
        : {};
      return { images: await getImageSet(store, key), batchKeys: sidecar.batchKeys ?? [], answers: new Map() };
    });
  /** Every evaluation sample of the stream so far (unlabelled), or undefined when there is none. */
  const streamEvaluationPool = async () => {
    const keys = (await store.list(STREAM_EVAL_PREFIX)).filter((k) => k.endsWith('.sfimg')).sort();
    // A set no longer listed was deleted: forget it, with its answers.
    for (const key of evaluationSets.keys()) if (!keys.includes(key)) evaluationSets.delete(key);
    if (keys.length === 0) return undefined;
    const sets = await Promise.all(keys.map(readEvaluationSet));
    const batchKeysById = new Map<string, string[]>();
    for (const set of sets) for (const id of set.images.ids ?? []) batchKeysById.set(id, set.batchKeys);
    return {
      images: concatImageSets(sets.map((set) => set.images)),
      batchKeysOf: (id: string) => batchKeysById.get(id) ?? [],
      /** `version`'s answers on the whole pool, in its order. */
      predictedBy: async (version: number): Promise<Int32Array> => {
        const parts = await Promise.all(
          sets.map((set) =>
            memo(set.answers, version, async () => predict(await model(version), set.images).predicted),
          ),
        );
        return Int32Array.from(parts.flatMap((part) => Array.from(part)));
      },
    };
  };
  /**
   * True labels of evaluation samples, each asked of the oracle once (cached in the store): the
   * ones in `wanted` not labelled yet, as far as the cap on evaluation labels and the budget allow.
   */
  const evaluationLabels = async (
    wanted: string[],
    batchKeysOf: (id: string) => string[],
    cap: number,
  ): Promise<{ known: Map<string, number>; spent: number }> => {
    const cached = (await store.exists(EVAL_LABELS_KEY))
      ? await store.getJson<Record<string, number>>(EVAL_LABELS_KEY)
      : {};
    const known = new Map(Object.entries(cached));
    const missing = wanted.filter((id) => !known.has(id));
    const budget = await getBudget(store);
    const room = Math.max(0, Math.min(budget.budget - budget.used, cap - known.size));
    const ask = missing.slice(0, room);
    if (ask.length > 0) {
      const batchKeys = [...new Set(ask.flatMap(batchKeysOf))];
      const labels = await labelIds(store, batchKeys, ask);
      ask.forEach((id, i) => known.set(id, labels[i] ?? -1));
      await store.putJson(EVAL_LABELS_KEY, Object.fromEntries(known));
    }
    return { known, spent: ask.length };
  };

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

    /**
     * The planner's sensor for "IF new model better than current": the newest undecided candidate
     * against production, both answering the same labelled evaluation samples of the stream (set
     * aside by the checker, never trained on), decided by a paired test (src/ml/promotion.ts):
     * promote when better beyond noise, wait while the evaluation set is below its minimum size,
     * reject otherwise. Without any stream evaluation samples (pseudo-label mode spends no true
     * label) the fixed held-out set is the basis. The fixed set's accuracies are reported beside.
     */
    async mnistCandidateVerdict(input: VerdictInput = {}): Promise<CandidateVerdict> {
      const metric = input?.metric ?? HELD_OUT_METRIC;
      const versions = await registry.list();
      const production = versions.find((v) => v.stage === 'production');
      const candidate = versions
        .filter((v) => v.stage === 'candidate' && (!production || v.version > production.version))
        .at(-1);
      const fixed = {
        candidate: candidate?.metrics[metric] ?? null,
        production: production?.metrics[metric] ?? null,
      };
      const none: CandidateVerdict = {
        pending: candidate !== undefined,
        version: candidate?.version ?? null,
        candidateAccuracy: null,
        productionVersion: production?.version ?? null,
        productionAccuracy: null,
        better: candidate && !production ? true : null,
        basis: null,
        decision: null,
        comparison: null,
        labelling: null,
        reason: candidate && !production ? 'nothing in production' : null,
        fixed,
      };
      if (!candidate || !production) return none;
      const alpha = input?.alpha ?? 0.05;
      const rule: PromotionRule = { minEvaluation: input?.minEvaluation, alpha, margin: input?.margin };
      const pool = await streamEvaluationPool();
      let verdict: ReturnType<typeof decidePromotion>;
      let basis: 'stream' | 'fixed';
      let labelling: CandidateVerdict['labelling'] = null;
      if (pool) {
        basis = 'stream';
        const cand = await pool.predictedBy(candidate.version);
        const prod = await pool.predictedBy(production.version);
        const ids = pool.images.ids ?? [];
        const disagree = ids.filter((_, i) => cand[i] !== prod[i]);
        // The first labelsPerVerdict disagreements in one fixed random order of the sample ids
        // (evaluationOrder: the same for every candidate) get true labels. The order is independent
        // of the models and of the truth, so the first k of any disagreement set are a uniform random
        // subset of it (unbiased); and since successive candidates disagree with production on
        // largely the same samples, their first k overlap and labels bought for one verdict serve the
        // next: the evaluation labels accumulate across verdicts. A bad candidate still cannot spend
        // more than labelsPerVerdict on its hundreds of disagreements.
        const wanted = evaluationOrder(disagree).slice(0, input?.labelsPerVerdict ?? 40);
        const labels = await evaluationLabels(wanted, pool.batchKeysOf, input?.labelCap ?? Infinity);
        // When the cap stops the labelling part-way, only the labelled prefix counts (still a prefix
        // of the random order, so still a uniform random subset).
        const firstUnknown = wanted.findIndex((id) => !labels.known.has(id));
        const subsetIds = new Set(firstUnknown === -1 ? wanted : wanted.slice(0, firstUnknown));
        let b = 0;
        let c = 0;
        let labelled = 0;
        ids.forEach((id, i) => {
          const truth = subsetIds.has(id) ? labels.known.get(id) : undefined;
          if (truth === undefined) return;
          labelled += 1;
          if (cand[i] === truth) b += 1;
          else if (prod[i] === truth) c += 1;
        });
        verdict = decidePromotion(compareDiscordant(ids.length, disagree.length, labelled, b, c, alpha), rule);
        labelling = { samples: ids.length, disagreements: disagree.length, labelled, spentNow: labels.spent };
      } else {
        basis = 'fixed';
        const data = await getImageSet(store, HELD_OUT_KEY);
        const truth = data.labels ?? new Int32Array();
        const correct = async (version: number) =>
          Array.from(predict(await model(version), data).predicted, (p, i) => p === truth[i]);
        verdict = decidePromotion(
          comparePaired(await correct(candidate.version), await correct(production.version), alpha),
          rule,
        );
      }
      const { decision, reason, ...comparison } = verdict;
      const finite = (x: number) => (Number.isFinite(x) ? x : null);
      return {
        ...none,
        candidateAccuracy: finite(verdict.candidateAccuracy),
        productionAccuracy: finite(verdict.productionAccuracy),
        better: decision === 'promote' ? true : decision === 'reject' ? false : null,
        basis,
        decision,
        comparison: {
          ...comparison,
          candidateAccuracy: finite(comparison.candidateAccuracy),
          productionAccuracy: finite(comparison.productionAccuracy),
          lowerBound: finite(comparison.lowerBound),
        },
        labelling,
        reason:
          basis === 'stream'
            ? `stream evaluation samples (${labelling?.disagreements} disagreements, ${labelling?.labelled} labelled): ${reason}`
            : `fixed held-out set: ${reason}`,
      };
    },
  };
}

export type MnistAppActivities = ReturnType<typeof createMnistAppActivities>;
