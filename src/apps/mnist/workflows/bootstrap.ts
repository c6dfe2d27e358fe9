/**
 * Prepares the MNIST case study once: the held-out drifted evaluation set, the baseline
 * classifier V1 (trained on the 60,000 MNIST training images, promoted to production) and the
 * drift detector (autoencoder trained on clean digits, calibrated, promoted). Each piece is
 * skipped when it already exists, so running it again is cheap.
 */
import { patched, proxyActivities } from '@temporalio/workflow';
import type { DriftPhase, MlActivities } from '../../../activities/ml/types.js';
import type { KnowledgeActivities } from '../../../activities/knowledge/knowledge-activities.js';
import type { MnistAppActivities } from '../activities.js';
import { CLASSIFIER_MODEL, DETECTOR_MODEL, HELD_OUT_KEY, HELD_OUT_METRIC } from '../names.js';
import { trainingActivityOptions } from '../../../workflows/ml-activity-options.js';

const quick = proxyActivities<KnowledgeActivities & MnistAppActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, initialInterval: '1 second', backoffCoefficient: 2 },
});
const training = proxyActivities<MlActivities>(trainingActivityOptions);

/** The patch id of the concurrent V1 and detector branches (b1e0726); test/apps/mnist/bootstrap-versioning.test.ts. */
const CONCURRENT_BOOTSTRAP = 'bootstrap-concurrent-v1-and-detector';

export interface MnistBootstrapInput {
  seed: number;
  classifierEpochs: number;
  detectorEpochs: number;
  heldOut: { count: number; share: number; corruptions: DriftPhase['corruptions'] };
  /** Dataset references; default the full MNIST training set (`mnist:train:5000` trains on the first 5,000). */
  trainData?: string;
  detectorTrainData?: string;
}

export interface MnistBootstrapResult {
  classifier: { version: number; accuracy?: number; heldOutAccuracy?: number; trained: boolean };
  detector: { version: number; trained: boolean };
  heldOut: { key: string; count: number };
}

export async function mnistBootstrapWorkflow(input: MnistBootstrapInput): Promise<MnistBootstrapResult> {
  const heldOut = await quick.mnistEnsureHeldOut({ seed: input.seed + 1000, ...input.heldOut });

  // V1 and the detector are independent: trained at the same time, they take both cores (the
  // detector trains in a worker thread of the ML worker, activities/ml/detection.ts), where one
  // after the other the detector's ~10 s waited for V1's ~35 s with the second core idle. A
  // history started before this change replays in its own order (one after the other).
  const [classifier, detector] = patched(CONCURRENT_BOOTSTRAP)
    ? await Promise.all([ensureClassifier(input), ensureDetector(input)])
    : [await ensureClassifier(input), await ensureDetector(input)];
  return { classifier, detector, heldOut };
}

/** V1: trained on the training set, evaluated on the held-out drifted set, promoted (unless one is in production). */
async function ensureClassifier(input: MnistBootstrapInput): Promise<MnistBootstrapResult['classifier']> {
  const production = await quick.getProductionModel({ model: CLASSIFIER_MODEL });
  if (production) {
    return {
      version: production.version,
      accuracy: production.metrics.accuracy,
      heldOutAccuracy: production.metrics[HELD_OUT_METRIC],
      trained: false,
    };
  }
  const v1 = await training.trainClassifier({
    trainData: input.trainData ?? 'mnist:train',
    evalData: 'mnist:test',
    epochs: input.classifierEpochs,
    seed: input.seed,
    notes: 'baseline V1',
  });
  const drifted = await training.evaluateClassifier({
    version: v1.version,
    data: HELD_OUT_KEY,
    recordAs: HELD_OUT_METRIC,
  });
  await quick.promoteModel({ model: CLASSIFIER_MODEL, version: v1.version });
  return { version: v1.version, accuracy: v1.metrics.accuracy, heldOutAccuracy: drifted.accuracy, trained: true };
}

/** The drift detector: trained on clean digits, calibrated and promoted (unless one is in production). */
async function ensureDetector(input: MnistBootstrapInput): Promise<MnistBootstrapResult['detector']> {
  const productionDetector = await quick.getProductionModel({ model: DETECTOR_MODEL });
  if (productionDetector) return { version: productionDetector.version, trained: false };
  const d = await training.trainDetector({
    trainData: input.detectorTrainData ?? input.trainData ?? 'mnist:train',
    referenceData: 'case-study:reference',
    epochs: input.detectorEpochs,
    seed: input.seed,
  });
  await quick.promoteModel({ model: DETECTOR_MODEL, version: d.version });
  return { version: d.version, trained: true };
}
