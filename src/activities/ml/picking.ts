/**
 * Picking and labelling activities: choose at most `budget` critical points among the samples a
 * detection flagged (by score, diversity or the classifier's confidence), then have the oracle
 * label them, spending its budget once even when the activity is retried.
 */
import { getImageSet, putImageSet } from '../../knowledge/image-set.js';
import { KnowledgeError } from '../../knowledge/types.js';
import { predict } from '../../ml/classifier.js';
import { InvalidInputError } from '../../ml/errors.js';
import { subset } from '../../ml/mnist.js';
import { pickCriticalPoints } from '../../ml/picking.js';
import { asActivity } from '../support.js';
import { resolveDataset } from './datasets.js';
import { getBudget, labelIds } from './label-oracle.js';
import { slug, type MlModels } from './models.js';
import type { DetectionResult, PickingActivities } from './types.js';

export function createPickingActivities(ml: MlModels): PickingActivities {
  const { store, classifiers } = ml;
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
        const picked = pickCriticalPoints({
          scores: detection.scores,
          flagged: detection.flagged,
          budget: input.budget,
          method: input.method,
          seed: input.seed,
          predicted,
          confidence,
        });
        const pickedKey = input.outputKey ?? `picked/${slug(input.data)}-${input.method}.sfimg`;
        const chosen = subset(
          {
            ...images,
            labels: undefined,
            ids: images.ids ?? Array.from({ length: images.count }, (_, i) => `${slug(input.data)}#${i}`),
          },
          picked,
        );
        if (chosen.count > 0) await putImageSet(store, pickedKey, chosen);
        return {
          pickedKey: chosen.count > 0 ? pickedKey : '',
          count: chosen.count,
          ids: chosen.ids ?? [],
          method: input.method,
        };
      });
    },

    async labelSamples(input) {
      return asActivity('labelSamples', async () => {
        const outputKey = input.outputKey ?? input.pickedKey.replace(/\.sfimg$/, '') + '.labelled.sfimg';
        // Idempotent: a retried activity must not spend the budget twice.
        if (await store.exists(outputKey)) {
          const done = await getImageSet(store, outputKey);
          const budget = await getBudget(store);
          return { labelledKey: outputKey, count: done.count, budgetLeft: budget.budget - budget.used };
        }
        const picked = await getImageSet(store, input.pickedKey);
        if (!picked.ids)
          throw new KnowledgeError('Corrupt', `${input.pickedKey} has no image ids: the oracle labels images by id`);
        const labels = await labelIds(store, input.batchKeys, picked.ids);
        await putImageSet(store, outputKey, { ...picked, labels });
        const budget = await getBudget(store);
        return { labelledKey: outputKey, count: picked.count, budgetLeft: budget.budget - budget.used };
      });
    },
  };
}
