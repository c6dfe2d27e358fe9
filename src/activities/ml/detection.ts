/**
 * Drift-detection activities: train the autoencoder and calibrate the detector on clean
 * reference data (registered as a `mnist-detector` version with its `detector.json`), then score
 * a batch, flag its outliers and judge whether it drifted. Full scores and flags go to the store;
 * the activity returns the summary.
 */
import { Context } from '@temporalio/activity';
import { buildAutoencoder, trainAutoencoder } from '../../ml/autoencoder.js';
import { DriftDetector } from '../../ml/drift-detector.js';
import { envSwitch } from '../../ml/env-switch.js';
import { trainAutoencoderOffThread } from '../../ml/off-thread-training.js';
import { asActivity, beat } from '../support.js';
import { lowerTrainingPriority, trainingNice } from './priority.js';
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
        const offThread = detectorOffThread();
        const trainRef = input.trainData ?? 'mnist:train';
        const referenceRef = input.referenceData ?? 'case-study:reference';
        const learningRate = input.learningRate ?? 1.0;
        const autoencoder = buildAutoencoder(input.seed, learningRate);
        const trainData = await resolveDataset(store, trainRef);
        const training = {
          epochs: input.epochs,
          seed: input.seed,
          onEpoch: (epoch: number, loss: number) => beat({ epoch, loss }),
          onProgress: () => {
            // TensorFlow starts its compute threads with the first op (the worker thread's too:
            // this lowers every `tf_*` thread of the process; the worker lowers its own JS thread).
            lowerTrainingPriority();
            beat();
          },
        };
        const result = offThread
          ? await trainAutoencoderOffThread(autoencoder, trainData, {
              ...training,
              learningRate,
              nice: trainingNice(),
              signal: activitySignal(),
              onWarning: warn,
            })
          : await trainAutoencoder(autoencoder, trainData, training);
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

/**
 * SCANFLOW_DETECTOR_OFF_THREAD: 1 (default) trains the detector's autoencoder in a worker thread,
 * beside a classifier training on the main thread (the bootstrap runs both at once); 0 trains it
 * in the activity's thread, as before (to compare the two).
 */
export function detectorOffThread(env: NodeJS.ProcessEnv = process.env): boolean {
  return envSwitch('SCANFLOW_DETECTOR_OFF_THREAD', env);
}

/** The activity's cancellation (delivered with a heartbeat's response), or none outside an activity. */
function activitySignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** The worker's log: the activity's logger when there is one. */
function warn(message: string): void {
  try {
    Context.current().log.warn(message);
  } catch {
    console.warn(message);
  }
}
