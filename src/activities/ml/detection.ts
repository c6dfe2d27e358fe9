/**
 * Drift-detection activities: train the autoencoder and calibrate the detector on clean
 * reference data (registered as a `mnist-detector` version with its `detector.json`), then score
 * a batch, flag its outliers and judge whether it drifted. Full scores and flags go to the store;
 * the activity returns the summary.
 */
import { buildAutoencoder, trainAutoencoder } from '../../ml/autoencoder.js';
import { DriftDetector } from '../../ml/drift-detector.js';
import { asActivity, beat } from '../support.js';
import { lowerTrainingPriority } from './priority.js';
import { activityIdempotencyKey } from './idempotency.js';
import { resolveDataset } from './datasets.js';
import { detectorStateKey, slug, type MlModels } from './models.js';
import type { DetectionActivities, DetectionResult, DetectionSummary } from './types.js';

export function createDetectionActivities(ml: MlModels): DetectionActivities {
  const { store, detectors } = ml;
  return {
    async trainDetector(input) {
      return asActivity('trainDetector', async () => {
        lowerTrainingPriority();
        const trainRef = input.trainData ?? 'mnist:train';
        const referenceRef = input.referenceData ?? 'case-study:reference';
        const autoencoder = buildAutoencoder(input.seed, input.learningRate ?? 1.0);
        const result = await trainAutoencoder(autoencoder, await resolveDataset(store, trainRef), {
          epochs: input.epochs,
          seed: input.seed,
          onEpoch: (epoch, loss) => beat({ epoch, loss }),
          onProgress: () => {
            lowerTrainingPriority(); // TensorFlow starts its compute threads with the first op
            beat();
          },
        });
        const mode = input.mode ?? 'features';
        const detector = DriftDetector.calibrate(autoencoder, await resolveDataset(store, referenceRef), {
          mode,
          thresholdPercentile: input.thresholdPercentile,
        });
        const record = await detectors.register({
          model: autoencoder,
          idempotencyKey: activityIdempotencyKey(),
          metrics: { reconstructionLoss: result.finalLoss, threshold: detector.state.calibration.threshold },
          lineage: {
            datasets: [trainRef, referenceRef],
            seed: input.seed,
            epochs: input.epochs,
            notes: `score mode ${mode}`,
          },
        });
        // A retry that got back its first attempt's version keeps that attempt's calibration.
        if (!(await store.exists(detectorStateKey(record.artifactPrefix))))
          await store.putJson(detectorStateKey(record.artifactPrefix), detector.state);
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

    async detectDrift(input) {
      return asActivity('detectDrift', async () => {
        const detectorVersion = await ml.productionVersion(detectors, input.detectorVersion);
        const detector = await ml.loadDetector(detectorVersion);
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
  };
}
