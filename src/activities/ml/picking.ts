/**
 * Picking and labelling activities: choose at most `budget` critical points among the samples a
 * detection flagged (by score, diversity or the classifier's confidence), then have the oracle
 * label them, spending its budget once even when the activity is retried, or label them with the
 * production classifier's own predictions (pseudo-labels: no true label spent). Beside them, a
 * random sample of the whole checked window can be set aside for evaluation (labelled by the
 * oracle under `eval/stream/`, never trained on: retraining refuses those ids).
 */
import { getImageSet, putImageSet } from '../../knowledge/image-set.js';
import { KnowledgeError } from '../../knowledge/types.js';
import { predict } from '../../ml/classifier.js';
import { InvalidInputError } from '../../ml/errors.js';
import { subset } from '../../ml/mnist.js';
import { pickCriticalPoints } from '../../ml/picking.js';
import { Rng } from '../../ml/random.js';
import type { ImageSet } from '../../ml/types.js';
import { asActivity } from '../support.js';
import { resolveDataset } from './datasets.js';
import { getBudget, labelIds } from './label-oracle.js';
import { slug, type MlModels } from './models.js';
import type { DetectionResult, PickingActivities } from './types.js';

/**
 * Where the stream's evaluation samples go: unlabelled image sets (`<check>.sfimg`) with a sidecar
 * naming their traffic batches (`<check>.json`). They are labelled only where a candidate and
 * production disagree, when a verdict needs it (apps/mnist: mnistCandidateVerdict).
 */
export const STREAM_EVAL_PREFIX = 'eval/stream/';
export const evaluationSidecarKey = (poolKey: string): string => poolKey.replace(/\.sfimg$/, '.json');

const withIds = (images: ImageSet, data: string): ImageSet => ({
  ...images,
  labels: undefined,
  ids: images.ids ?? Array.from({ length: images.count }, (_, i) => `${slug(data)}#${i}`),
});

export function createPickingActivities(ml: MlModels): PickingActivities {
  const { store, classifiers } = ml;

  /** Pseudo-labels (the paper's): the production classifier's own predictions; no true label is spent. */
  async function pseudoLabel(pickedKey: string, outputKey: string | undefined, classifierVersion?: number) {
    const key = outputKey ?? pickedKey.replace(/\.sfimg$/, '') + '.pseudo.labelled.sfimg';
    const budget = await getBudget(store);
    if (!(await store.exists(key))) {
      const picked = await getImageSet(store, pickedKey);
      const version = await ml.productionVersion(classifiers, classifierVersion);
      const { predicted } = predict(await ml.loadClassifier(version), picked);
      await putImageSet(store, key, { ...picked, labels: predicted });
    }
    const done = await getImageSet(store, key);
    return { labelledKey: key, count: done.count, budgetLeft: budget.budget - budget.used, trueLabels: 0 };
  }

  return {
    async pickSamples(input) {
      return asActivity('pickSamples', async () => {
        const detection = await store.getJson<DetectionResult>(input.detectionKey);
        if (!Array.isArray(detection?.scores) || !Array.isArray(detection.flagged))
          throw new KnowledgeError('Corrupt', `${input.detectionKey} is not a detection result`);
        const images = await resolveDataset(store, input.data);
        if (images.count !== detection.scores.length) {
          throw new InvalidInputError(
            `detection ${input.detectionKey} has ${detection.scores.length} scores but ${input.data} has ${images.count} images: they must be the same batch`,
          );
        }
        let predicted: Int32Array | undefined;
        let confidence: Float32Array | undefined;
        if (input.method === 'top-score-diverse' || input.method === 'least-confidence') {
          const version = await ml.productionVersion(classifiers, input.classifierVersion);
          ({ predicted, confidence } = predict(await ml.loadClassifier(version), images));
        }
        const all = withIds(images, input.data);
        const excluded = new Set(input.exclude ?? []);
        const picked = pickCriticalPoints({
          scores: detection.scores,
          flagged: detection.flagged.filter((i) => !excluded.has(all.ids?.[i] ?? '')),
          budget: input.budget,
          method: input.method,
          seed: input.seed,
          predicted,
          confidence,
        });
        const pickedKey = input.outputKey ?? `picked/${slug(input.data)}-${input.method}.sfimg`;
        const chosen = subset(all, picked);
        if (chosen.count > 0) await putImageSet(store, pickedKey, chosen);
        return {
          pickedKey: chosen.count > 0 ? pickedKey : '',
          count: chosen.count,
          ids: chosen.ids ?? [],
          method: input.method,
        };
      });
    },

    async pickConfident(input) {
      return asActivity('pickConfident', async () => {
        if (!Number.isInteger(input.count) || input.count < 0)
          throw new InvalidInputError(`count must be a non-negative integer, got ${input.count}`);
        const detection = await store.getJson<DetectionResult>(input.detectionKey);
        if (!Array.isArray(detection?.flagged))
          throw new KnowledgeError('Corrupt', `${input.detectionKey} is not a detection result`);
        const images = withIds(await resolveDataset(store, input.data), input.data);
        const version = await ml.productionVersion(classifiers, input.classifierVersion);
        const { confidence } = predict(await ml.loadClassifier(version), images);
        const excluded = new Set(input.exclude ?? []);
        const minConfidence = input.minConfidence ?? 0.9;
        const chosenIdx = detection.flagged
          .filter((i) => !excluded.has(images.ids?.[i] ?? '') && (confidence[i] ?? 0) >= minConfidence)
          .sort((a, b) => (confidence[b] ?? 0) - (confidence[a] ?? 0) || a - b)
          .slice(0, input.count);
        const chosen = subset(images, chosenIdx);
        const pickedKey = input.outputKey ?? `picked/${slug(input.data)}-confident.sfimg`;
        if (chosen.count > 0) await putImageSet(store, pickedKey, chosen);
        return { pickedKey: chosen.count > 0 ? pickedKey : '', count: chosen.count, ids: chosen.ids ?? [] };
      });
    },

    async sampleForEvaluation(input) {
      return asActivity('sampleForEvaluation', async () => {
        if (!Number.isInteger(input.count) || input.count < 0)
          throw new InvalidInputError(`count must be a non-negative integer, got ${input.count}`);
        const images = withIds(await resolveDataset(store, input.data), input.data);
        const excluded = new Set(input.exclude ?? []);
        const eligible = Array.from({ length: images.count }, (_, i) => i).filter(
          (i) => !excluded.has(images.ids?.[i] ?? ''),
        );
        // A uniform random sample of the whole window: the stream's own distribution, drifted or not.
        const rng = new Rng(input.seed);
        const chosenIdx = rng
          .sampleIndices(eligible.length, Math.min(input.count, eligible.length))
          .map((k) => eligible[k] as number)
          .sort((a, b) => a - b);
        const chosen = subset(images, chosenIdx);
        const pickedKey = input.outputKey ?? `${STREAM_EVAL_PREFIX}${slug(input.data)}.sfimg`;
        if (chosen.count > 0) {
          await putImageSet(store, pickedKey, chosen);
          // Where the oracle finds their truth when a verdict needs some of them labelled.
          await store.putJson(evaluationSidecarKey(pickedKey), { batchKeys: input.batchKeys ?? [] });
        }
        return { pickedKey: chosen.count > 0 ? pickedKey : '', count: chosen.count, ids: chosen.ids ?? [] };
      });
    },

    async labelSamples(input) {
      return asActivity('labelSamples', async () => {
        if (input.source === 'model') return pseudoLabel(input.pickedKey, input.outputKey, input.classifierVersion);
        const outputKey = input.outputKey ?? input.pickedKey.replace(/\.sfimg$/, '') + '.labelled.sfimg';
        // Idempotent: a retried activity must not spend the budget twice.
        if (await store.exists(outputKey)) {
          const done = await getImageSet(store, outputKey);
          const budget = await getBudget(store);
          return {
            labelledKey: outputKey,
            count: done.count,
            budgetLeft: budget.budget - budget.used,
            trueLabels: done.count,
          };
        }
        const picked = await getImageSet(store, input.pickedKey);
        if (!picked.ids)
          throw new KnowledgeError('Corrupt', `${input.pickedKey} has no image ids: the oracle labels images by id`);
        const labels = await labelIds(store, input.batchKeys, picked.ids);
        await putImageSet(store, outputKey, { ...picked, labels });
        const budget = await getBudget(store);
        return {
          labelledKey: outputKey,
          count: picked.count,
          budgetLeft: budget.budget - budget.used,
          trueLabels: picked.count,
        };
      });
    },
  };
}
