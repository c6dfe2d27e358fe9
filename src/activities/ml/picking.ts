/**
 * Picking and labelling activities: choose at most `budget` critical points among the samples a
 * detection flagged (by score, diversity or the classifier's confidence), then have the oracle
 * label them, spending its budget once even when the activity is retried, or label them with the
 * production classifier's own predictions (pseudo-labels: no true label spent). Beside them, a
 * random sample of the whole checked window can be set aside for evaluation (labelled by the
 * oracle under `eval/stream/`, never trained on: retraining refuses those ids).
 */
import { Context } from '@temporalio/activity';
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
import { checkSamples, getBudget, labelImages, rejectedBy, type RejectedSample } from './label-oracle.js';
import { slug, type MlModels } from './models.js';
import type { DetectionResult, PickingActivities } from './types.js';

/**
 * Where the stream's evaluation samples go: unlabelled image sets (`<check>.sfimg`) with a sidecar
 * naming their traffic batches (`<check>.json`). They are labelled only where a candidate and
 * production disagree, when a verdict needs it (apps/mnist: mnistCandidateVerdict).
 */
export const STREAM_EVAL_PREFIX = 'eval/stream/';
export const evaluationSidecarKey = (poolKey: string): string => poolKey.replace(/\.sfimg$/, '.json');

/** Samples the oracle refused go to the worker's log (the activity's logger when there is one). */
function warnRejected(message: string, rejected: RejectedSample[]): void {
  const byReason: Record<string, number> = {};
  for (const r of rejected) byReason[r.reason] = (byReason[r.reason] ?? 0) + 1;
  const attrs = { byReason, ids: rejected.slice(0, 10).map((r) => r.id) };
  try {
    Context.current().log.warn(message, attrs);
  } catch {
    console.warn(`${message} ${JSON.stringify(attrs)}`);
  }
}

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
        const pickedKey = input.outputKey ?? `${STREAM_EVAL_PREFIX}${slug(input.data)}.sfimg`;
        // Only the oracle's own samples (id and pixels) may be set aside for true labels later:
        // another image sent under a stream id would be judged with that sample's label.
        let rejected = 0;
        let verified: Set<number> | undefined;
        if (input.batchKeys && input.batchKeys.length > 0) {
          const check = await checkSamples(store, input.batchKeys, images, pickedKey);
          verified = new Set(check.accepted);
          rejected = check.rejected.length;
          if (rejected > 0)
            warnRejected(
              `sampleForEvaluation: ${rejected} of ${images.count} samples of ${input.data} left out: not the oracle's samples (unknown id, or other pixels under its id)`,
              check.rejected,
            );
        }
        const eligible = Array.from({ length: images.count }, (_, i) => i).filter(
          (i) => !excluded.has(images.ids?.[i] ?? '') && (!verified || verified.has(i)),
        );
        // A uniform random sample of the whole window: the stream's own distribution, drifted or not.
        const rng = new Rng(input.seed);
        const chosenIdx = rng
          .sampleIndices(eligible.length, Math.min(input.count, eligible.length))
          .map((k) => eligible[k] as number)
          .sort((a, b) => a - b);
        const chosen = subset(images, chosenIdx);
        if (chosen.count > 0) {
          await putImageSet(store, pickedKey, chosen);
          // Where the oracle finds their truth when a verdict needs some of them labelled.
          await store.putJson(evaluationSidecarKey(pickedKey), { batchKeys: input.batchKeys ?? [] });
        }
        return { pickedKey: chosen.count > 0 ? pickedKey : '', count: chosen.count, ids: chosen.ids ?? [], rejected };
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
            rejected: await rejectedBy(store, outputKey),
          };
        }
        const picked = await getImageSet(store, input.pickedKey);
        if (!picked.ids)
          throw new KnowledgeError('Corrupt', `${input.pickedKey} has no image ids: the oracle labels images by id`);
        // Joined by id only where the pixels are the oracle's own sample (label poisoning):
        // the others are left out, cost nothing, and are reported.
        const { labelled, rejected } = await labelImages(store, input.batchKeys, picked, outputKey);
        if (rejected.length > 0)
          warnRejected(
            `labelSamples: ${rejected.length} of ${picked.count} samples of ${input.pickedKey} not labelled: not the oracle's samples (unknown id, or other pixels under its id)`,
            rejected,
          );
        if (labelled.count > 0) await putImageSet(store, outputKey, labelled);
        const budget = await getBudget(store);
        return {
          labelledKey: labelled.count > 0 ? outputKey : '',
          count: labelled.count,
          budgetLeft: budget.budget - budget.used,
          trueLabels: labelled.count,
          rejected: rejected.length,
        };
      });
    },
  };
}
