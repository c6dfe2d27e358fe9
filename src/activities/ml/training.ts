/**
 * Classifier training activities: train from scratch, or fine-tune a registered version on
 * labelled samples plus a replay of the original data. Each registers the result as a
 * `candidate` version with its lineage; promotion is someone else's decision. Long work
 * heartbeats every epoch and every 50 batches: give these activities a heartbeatTimeout.
 */
import { getImageSet } from '../../knowledge/image-set.js';
import {
  buildClassifier,
  evaluateClassifier as evaluate,
  fineTuneClassifier,
  trainClassifier as train,
} from '../../ml/classifier.js';
import { InvalidInputError } from '../../ml/errors.js';
import { concatImageSets } from '../../ml/mnist.js';
import { asActivity, beat } from '../support.js';
import { activityIdempotencyKey } from './idempotency.js';
import { resolveDataset } from './datasets.js';
import { STREAM_EVAL_PREFIX } from './picking.js';
import { lowerTrainingPriority } from './priority.js';
import type { KnowledgeStore } from '../../knowledge/types.js';
import type { MlModels } from './models.js';
import type { TrainingActivities } from './types.js';

export function createTrainingActivities(ml: MlModels): TrainingActivities {
  const { store, classifiers } = ml;
  return {
    async trainClassifier(input) {
      return asActivity('trainClassifier', async () => {
        lowerTrainingPriority();
        const trainRef = input.trainData ?? 'mnist:train';
        const data = await resolveDataset(store, trainRef);
        const model = buildClassifier(input.seed);
        const result = await train(model, data, {
          epochs: input.epochs,
          seed: input.seed,
          batchSize: input.batchSize,
          onEpoch: (epoch, loss) => beat({ epoch, loss }),
          onProgress: () => {
            lowerTrainingPriority(); // TensorFlow starts its compute threads with the first op
            beat();
          },
        });
        const evalRef = input.evalData ?? 'mnist:test';
        const evaluation = evaluate(model, await resolveDataset(store, evalRef));
        const record = await classifiers.register({
          model,
          idempotencyKey: activityIdempotencyKey(),
          metrics: { accuracy: evaluation.accuracy },
          lineage: {
            datasets: [trainRef],
            seed: input.seed,
            epochs: input.epochs,
            notes: input.notes ?? `trained from scratch; accuracy on ${evalRef}`,
          },
        });
        return {
          model: classifiers.model,
          version: record.version,
          metrics: record.metrics,
          trainSeconds: result.seconds,
          imagesPerSecond: result.imagesPerSecond,
        };
      });
    },

    async retrainClassifier(input) {
      return asActivity('retrainClassifier', async () => {
        lowerTrainingPriority();
        if (!Array.isArray(input.labelledData) || input.labelledData.length === 0)
          throw new InvalidInputError('labelledData must list at least one labelled image set key');
        const parentVersion = await ml.productionVersion(classifiers, input.parentVersion);
        // A fresh copy: fine-tuning must not touch the cached parent model.
        const model = await classifiers.loadModel(parentVersion);
        const parts = await Promise.all(input.labelledData.map((key) => getImageSet(store, key)));
        const labelled = concatImageSets(parts.map((p) => ({ ...p, ids: p.ids ?? [] })));
        // The stream's evaluation samples judge candidates: training on one would flatter it.
        const held = await streamEvaluationIds(store);
        const leaked = (labelled.ids ?? []).filter((id) => held.has(id));
        if (leaked.length > 0)
          throw new InvalidInputError(
            `${leaked.length} of the samples to train on were set aside for evaluation under ${STREAM_EVAL_PREFIX} (${leaked.slice(0, 3).join(', ')}…): evaluation samples are never trained on`,
          );
        const replayRef = input.replayData ?? 'mnist:train';
        const result = await fineTuneClassifier(model, labelled, await resolveDataset(store, replayRef), {
          seed: input.seed,
          epochs: input.epochs,
          learningRate: input.learningRate,
          replayRatio: input.replayRatio,
          batchSize: input.batchSize,
          onEpoch: (epoch, loss) => beat({ epoch, loss }),
          onProgress: () => {
            lowerTrainingPriority(); // TensorFlow starts its compute threads with the first op
            beat();
          },
        });
        const metrics: Record<string, number> = {};
        if (input.evalData) metrics.accuracy = evaluate(model, await resolveDataset(store, input.evalData)).accuracy;
        const record = await classifiers.register({
          model,
          idempotencyKey: activityIdempotencyKey(),
          metrics,
          lineage: {
            parentVersion,
            datasets: [...input.labelledData, replayRef],
            seed: input.seed,
            epochs: input.epochs ?? 5,
            notes: input.notes ?? "fine-tuned on labelled samples + replay, V1's augmentation",
          },
        });
        model.dispose();
        return {
          model: classifiers.model,
          version: record.version,
          parentVersion,
          samples: labelled.count,
          metrics: record.metrics,
          trainSeconds: result.seconds,
          imagesPerSecond: result.imagesPerSecond,
        };
      });
    },
  };
}

/** Ids of every evaluation sample of the stream, labelled or not (never trained on). */
export async function streamEvaluationIds(store: KnowledgeStore): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const key of await store.list(STREAM_EVAL_PREFIX)) {
    if (!key.endsWith('.sfimg')) continue;
    for (const id of (await getImageSet(store, key)).ids ?? []) ids.add(id);
  }
  return ids;
}
