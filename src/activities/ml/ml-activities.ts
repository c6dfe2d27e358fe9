/**
 * ML activities: train, retrain (fine-tune), evaluate, train the drift detector, detect, pick,
 * label within budget, generate drifting traffic. Inputs and outputs are small JSON; images,
 * models and scores stay in the knowledge store and travel as keys (Temporal payloads ≤ 2 MB).
 * Long work heartbeats (every epoch and every 50 batches): give these activities a heartbeatTimeout.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { getImageSet, putImageSet } from '../../knowledge/image-set.js';
import { ModelRegistry } from '../../knowledge/model-registry.js';
import { KnowledgeError, type KnowledgeStore } from '../../knowledge/types.js';
import { buildAutoencoder, trainAutoencoder } from '../../ml/autoencoder.js';
import {
  buildClassifier,
  evaluateClassifier as evaluate,
  fineTuneClassifier,
  predict,
  trainClassifier as train,
} from '../../ml/classifier.js';
import { DriftDetector, type DetectorState, type ScoreMode } from '../../ml/drift-detector.js';
import { DriftStream } from '../../ml/drift-stream.js';
import { concatImageSets, subset } from '../../ml/mnist.js';
import { pickCriticalPoints } from '../../ml/picking.js';
import { InvalidInputError } from '../../ml/errors.js';
import { asActivity, beat } from './activity-support.js';
import type {
  DetectInput,
  DetectionResult,
  DetectionSummary,
  EvaluateInput,
  EvaluationResult,
  GenerateTrafficInput,
  LabelInput,
  PickInput,
  PickResult,
  RetrainClassifierInput,
  TrainClassifierInput,
  TrainDetectorInput,
  TrainedVersion,
} from './types.js';
import { resolveDataset } from './datasets.js';
import { recordTruth, labelIds, getBudget } from './label-oracle.js';

export interface MlActivityDeps {
  store: KnowledgeStore;
  /** Registry names; defaults `mnist-classifier` and `mnist-detector`. */
  classifierModel?: string;
  detectorModel?: string;
}

const slug = (ref: string): string => ref.replace(/[^A-Za-z0-9._=-]+/g, '_');

export function createMlActivities(deps: MlActivityDeps) {
  const { store } = deps;
  const classifiers = new ModelRegistry(store, deps.classifierModel ?? 'mnist-classifier');
  const detectors = new ModelRegistry(store, deps.detectorModel ?? 'mnist-detector');
  // Versions are immutable, so loaded models can be cached by version.
  const classifierCache = new Map<number, LayersModel>();
  const detectorCache = new Map<number, DriftDetector>();

  async function productionVersion(registry: ModelRegistry, requested: number | undefined): Promise<number> {
    if (requested !== undefined) return requested;
    const production = await registry.production();
    if (!production)
      throw new KnowledgeError(
        'NotFound',
        `model ${registry.model} has no production version: pass a version or promote one first`,
      );
    return production.version;
  }

  async function loadClassifier(version: number): Promise<LayersModel> {
    let model = classifierCache.get(version);
    if (!model) {
      model = await classifiers.loadModel(version);
      classifierCache.set(version, model);
    }
    return model;
  }

  async function loadDetector(version: number): Promise<DriftDetector> {
    let detector = detectorCache.get(version);
    if (!detector) {
      const record = await detectors.get(version);
      const state = await store.getJson<DetectorState>(`${record.artifactPrefix}/detector.json`);
      if (!state?.calibration || !(state.mode === 'l2' || state.mode === 'features')) {
        throw new KnowledgeError(
          'Corrupt',
          `detector version ${version} has no valid detector.json (mode + calibration)`,
        );
      }
      detector = new DriftDetector(await detectors.loadModel(version), state);
      detectorCache.set(version, detector);
    }
    return detector;
  }

  return {
    async trainClassifier(input: TrainClassifierInput): Promise<TrainedVersion> {
      return asActivity('trainClassifier', async () => {
        const trainRef = input.trainData ?? 'mnist:train';
        const data = await resolveDataset(store, trainRef);
        const model = buildClassifier(input.seed);
        const result = await train(model, data, {
          epochs: input.epochs,
          seed: input.seed,
          batchSize: input.batchSize,
          onEpoch: (epoch, loss) => beat({ epoch, loss }),
          onProgress: () => beat(),
        });
        const evalRef = input.evalData ?? 'mnist:test';
        const evaluation = evaluate(model, await resolveDataset(store, evalRef));
        const record = await classifiers.register({
          model,
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

    async retrainClassifier(
      input: RetrainClassifierInput,
    ): Promise<TrainedVersion & { parentVersion: number; samples: number }> {
      return asActivity('retrainClassifier', async () => {
        if (!Array.isArray(input.labelledData) || input.labelledData.length === 0)
          throw new InvalidInputError('labelledData must list at least one labelled image set key');
        const parentVersion = await productionVersion(classifiers, input.parentVersion);
        // A fresh copy: fine-tuning must not touch the cached parent model.
        const model = await classifiers.loadModel(parentVersion);
        const parts = await Promise.all(input.labelledData.map((key) => getImageSet(store, key)));
        const labelled = concatImageSets(parts);
        const replayRef = input.replayData ?? 'mnist:train';
        const result = await fineTuneClassifier(model, labelled, await resolveDataset(store, replayRef), {
          seed: input.seed,
          epochs: input.epochs,
          learningRate: input.learningRate,
          replayRatio: input.replayRatio,
          onEpoch: (epoch, loss) => beat({ epoch, loss }),
          onProgress: () => beat(),
        });
        const metrics: Record<string, number> = {};
        if (input.evalData) metrics.accuracy = evaluate(model, await resolveDataset(store, input.evalData)).accuracy;
        const record = await classifiers.register({
          model,
          metrics,
          lineage: {
            parentVersion,
            datasets: [...input.labelledData, replayRef],
            seed: input.seed,
            epochs: input.epochs ?? 5,
            notes: input.notes ?? 'fine-tuned on labelled samples + replay',
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

    async evaluateClassifier(input: EvaluateInput): Promise<EvaluationResult> {
      return asActivity('evaluateClassifier', async () => {
        const version = await productionVersion(classifiers, input.version);
        const model = await loadClassifier(version);
        const result = evaluate(model, await resolveDataset(store, input.data));
        if (input.recordAs) await classifiers.recordMetrics(version, { [input.recordAs]: result.accuracy });
        return {
          version,
          data: input.data,
          count: result.count,
          accuracy: result.accuracy,
          perClass: result.perClass.map((a) => (Number.isNaN(a) ? -1 : a)),
          confusion: result.confusion,
        };
      });
    },

    async trainDetector(input: TrainDetectorInput): Promise<TrainedVersion & { threshold: number; mode: ScoreMode }> {
      return asActivity('trainDetector', async () => {
        const trainRef = input.trainData ?? 'mnist:train';
        const referenceRef = input.referenceData ?? 'case-study:reference';
        const autoencoder = buildAutoencoder(input.seed, input.learningRate ?? 1.0);
        const result = await trainAutoencoder(autoencoder, await resolveDataset(store, trainRef), {
          epochs: input.epochs,
          seed: input.seed,
          onEpoch: (epoch, loss) => beat({ epoch, loss }),
          onProgress: () => beat(),
        });
        const mode = input.mode ?? 'features';
        const detector = DriftDetector.calibrate(autoencoder, await resolveDataset(store, referenceRef), {
          mode,
          thresholdPercentile: input.thresholdPercentile,
        });
        const record = await detectors.register({
          model: autoencoder,
          metrics: { reconstructionLoss: result.finalLoss, threshold: detector.state.calibration.threshold },
          lineage: {
            datasets: [trainRef, referenceRef],
            seed: input.seed,
            epochs: input.epochs,
            notes: `score mode ${mode}`,
          },
        });
        await store.putJson(`${record.artifactPrefix}/detector.json`, detector.state);
        return {
          model: detectors.model,
          version: record.version,
          metrics: record.metrics,
          trainSeconds: result.seconds,
          imagesPerSecond: result.imagesPerSecond,
          threshold: detector.state.calibration.threshold,
          mode,
        };
      });
    },

    async detectDrift(input: DetectInput): Promise<DetectionSummary> {
      return asActivity('detectDrift', async () => {
        const detectorVersion = await productionVersion(detectors, input.detectorVersion);
        const detector = await loadDetector(detectorVersion);
        const images = await resolveDataset(store, input.data);
        const { scores, verdict } = detector.judge(images, input.pValueThreshold);
        const resultKey = input.resultKey ?? `detections/${slug(input.data)}.json`;
        const summary: DetectionSummary = {
          resultKey,
          detectorVersion,
          count: verdict.count,
          flaggedCount: verdict.flagged.length,
          shareFlagged: verdict.shareFlagged,
          threshold: verdict.threshold,
          isDrift: verdict.isDrift,
          pValue: verdict.pValue,
          distance: verdict.distance,
          binomialPValue: verdict.binomialPValue,
        };
        const full: DetectionResult = {
          ...summary,
          data: input.data,
          scores: Array.from(scores),
          flagged: verdict.flagged,
        };
        await store.putJson(resultKey, full);
        return summary;
      });
    },

    async pickSamples(input: PickInput): Promise<PickResult> {
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
          const version = await productionVersion(classifiers, input.classifierVersion);
          ({ predicted, confidence } = predict(await loadClassifier(version), images));
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

    async labelSamples(input: LabelInput): Promise<{ labelledKey: string; count: number; budgetLeft: number }> {
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

    async generateTrafficBatch(
      input: GenerateTrafficInput,
    ): Promise<{ datasetKey: string; count: number; kinds: Record<string, number> }> {
      return asActivity('generateTrafficBatch', async () => {
        const source = await resolveDataset(store, input.source ?? 'case-study:traffic');
        const stream = new DriftStream(
          { seed: input.seed, batchSize: input.batchSize, schedule: input.schedule, source },
          0,
        );
        const batch = stream.batch(input.batchIndex);
        const datasetKey =
          input.outputKey ?? `traffic/seed-${input.seed}/batch-${String(input.batchIndex).padStart(5, '0')}.sfimg`;
        const ids = batch.images.ids ?? [];
        await recordTruth(store, datasetKey, ids, stream.oracle.truthFor(ids));
        await putImageSet(store, datasetKey, batch.images);
        const kinds: Record<string, number> = {};
        for (const k of batch.kinds) kinds[k] = (kinds[k] ?? 0) + 1;
        return { datasetKey, count: batch.images.count, kinds };
      });
    },
  };
}

export type * from './types.js';
