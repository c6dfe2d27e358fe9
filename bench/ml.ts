/**
 * ML benchmark on the native backend (2-core machine): prints
 *  1. classifier training throughput and MNIST test accuracy after full training (goal ≥ 98%);
 *  2. autoencoder training throughput and detector scoring throughput (goal ≥ 8,000 img/s);
 *  3. AUROC of the detector score, clean vs each of the 15 MNIST-C corruptions, for the original
 *     L2 score and our feature score (goal: mean ≥ 0.90);
 *  4. the baseline classifier's accuracy on each corruption (the drift the agents must repair);
 *  5. critical-point picking methods compared under one label budget: accuracy after retraining.
 *  0. (--training, also first in the full run) training at Keras speed: the classifier trained by
 *     our loop (src/ml/training-loop.ts) and by Python Keras on the same architecture, data,
 *     epochs, batch size and TensorFlow 2.21 library, interleaved in one run, with the load
 *     average beside every figure (Keras from scripts/provision-keras, bench/keras_classifier.py).
 *  (--adaptation, not in the full run) retraining under drift with the demo's label pattern: generic
 *     augmentation, consistency-filtered pseudo-labels and the all-labels oracle, over 4 drift mixes ×
 *     2 seeds (bench/ml-adaptation.ts).
 *  (--recipes, not in the full run) V1's training recipe: batch size, warm-up, epochs and augmentation
 *     against robustness (mean accuracy on the 15 MNIST-C corruptions, and per corruption), clean
 *     accuracy and time, over 3 seeds (SCANFLOW_BENCH_RECIPES=<regular expression> and
 *     SCANFLOW_BENCH_SEEDS=1,2 select recipes and seeds).
 *  (--detector-recipes, not in the full run) the detector's training recipe (images, batch size)
 *     against its AUROC and time (bench/ml-detector-recipes.ts).
 * Run: npx tsx bench/ml.ts [--quick | --training | --labels | --scoring | --recipes | --detector-recipes | --adaptation | --adaptation-cost]   (full run: about 15–20 minutes on 2 busy cores)
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { LocalDirectoryStore } from '../src/knowledge/local-store.js';
import { ModelRegistry } from '../src/knowledge/model-registry.js';
import { lowerTrainingPriority } from '../src/activities/ml/priority.js';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImageSet } from '../src/ml/types.js';
import { buildAutoencoder, trainAutoencoder } from '../src/ml/autoencoder.js';
import {
  buildClassifier,
  evaluateClassifier,
  fineTuneClassifier,
  predict,
  trainClassifier,
} from '../src/ml/classifier.js';
import { GENERIC_AUGMENTATION, V1_AUGMENTATION, type AugmentOptions } from '../src/ml/augment.js';
import { CORRUPTIONS, type CorruptionName } from '../src/ml/corruptions.js';
import { DriftDetector } from '../src/ml/drift-detector.js';
import { DriftStream } from '../src/ml/drift-stream.js';
import { concatImageSets, loadMnist, mnistDataDirectory, referenceAndTrafficIndices, subset } from '../src/ml/mnist.js';
import { corruptImageSet } from '../src/ml/mnist-c.js';
import { PICK_METHODS, pickCriticalPoints } from '../src/ml/picking.js';
import { auroc } from '../src/ml/stats.js';
import { compareAdaptation, compareAugmentationCost, streamAndHeldHalves } from './ml-adaptation.js';
import { compareDetectorRecipes } from './ml-detector-recipes.js';
import { libtensorflowVersion, tensorflow } from '../src/ml/tf.js';

const quick = process.argv.includes('--quick');
/** Only the scoring throughput (weights do not change the cost): a quick re-measure on a quieter machine. */
const scoringOnly = process.argv.includes('--scoring');
/** Only the tfjs-vs-Keras training comparison. */
const trainingOnly = process.argv.includes('--training');
/** Only the model server's p99 during a retrain, at normal and at lowered training priority. */
const servingOnly = process.argv.includes('--serving-priority');
/** Only the label-source comparison (true labels vs pseudo-labels vs a mix). */
const labelsOnly = process.argv.includes('--labels');
/** Only V1's training recipes compared on robustness (MNIST-C), clean accuracy and time. */
const recipesOnly = process.argv.includes('--recipes');
/** Only the detector's training recipes compared on AUROC and time (bench/ml-detector-recipes.ts). */
const detectorRecipesOnly = process.argv.includes('--detector-recipes');
/** Only the retraining variants under drift with the demo's label pattern (bench/ml-adaptation.ts). */
const adaptationOnly = process.argv.includes('--adaptation');
/** Only what augmentation adds to a retrain's time. */
const adaptationCostOnly = process.argv.includes('--adaptation-cost');
const CLASSIFIER_TRAIN = quick ? 10000 : 60000;
const CLASSIFIER_EPOCHS = quick ? 1 : 3;
const AE_TRAIN = quick ? 10000 : 60000;
const AE_EPOCHS = quick ? 2 : 5;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const log = (s = ''): void => console.log(s);
const load = (): string =>
  `load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface TrainingRun {
  seconds: number;
  /** CPU time of the whole process (all threads) during the training: the work, less load-dependent than the wall time. */
  cpuSeconds: number;
  imagesPerSecond: number;
  testAccuracy: number;
  finalLoss: number;
  load: string;
}

/** The Python of scripts/provision-keras (provisions once, then just prints it), or undefined with the reason. */
function kerasPython(): string | { error: string } {
  try {
    const out = execFileSync('bash', [join(root, 'scripts/provision-keras')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return out.trim().split('\n').at(-1) ?? '';
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0] ?? 'failed' };
  }
}

function trainKeras(python: string, epochs: number, batchSize: number, limit: number): TrainingRun {
  const out = execFileSync(
    python,
    [
      join(root, 'bench/keras_classifier.py'),
      '--data',
      mnistDataDirectory(),
      '--epochs',
      String(epochs),
      '--batch-size',
      String(batchSize),
      '--limit',
      String(limit),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } },
  );
  const r = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as TrainingRun;
  return { ...r, load: load() };
}

async function trainTfjs(epochs: number, batchSize: number, limit: number): Promise<TrainingRun> {
  const model = buildClassifier(1);
  const data = loadMnist('train', limit);
  const cpu = process.cpuUsage();
  const r = await trainClassifier(model, data, { epochs, seed: 1, batchSize });
  const used = process.cpuUsage(cpu);
  const testAccuracy = evaluateClassifier(model, loadMnist('test')).accuracy;
  model.dispose();
  return {
    seconds: r.seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    imagesPerSecond: r.imagesPerSecond,
    testAccuracy,
    finalLoss: r.finalLoss,
    load: load(),
  };
}

/**
 * Whole-training wall time (data already in memory on both sides; Keras: model.fit, verbose 0;
 * ours: trainClassifier), same epochs and batch size, interleaved rounds so both see the same
 * machine; the ratio is per round and overall (sum of times).
 */
async function compareTraining(): Promise<void> {
  const epochs = quick ? 1 : 2;
  const limit = quick ? 20000 : 60000;
  const batchSize = 128;
  const rounds = quick ? 1 : 2;
  log(
    `\n## Training at Keras speed: CNN on ${limit} MNIST images × ${epochs} epochs, batch ${batchSize}, same TensorFlow ${libtensorflowVersion()}`,
  );
  const python = kerasPython();
  if (typeof python !== 'string') {
    log(`Keras not available (${python.error}): run scripts/provision-keras`);
  }
  log(
    '| round | tfjs (ours) s | img/s | test acc | Keras s | img/s | test acc | ours / Keras (wall) | CPU s ours / Keras | load average |',
  );
  log('|---|---|---|---|---|---|---|---|---|---|');
  let ours = 0;
  let keras = 0;
  let oursCpu = 0;
  let kerasCpu = 0;
  for (let r = 1; r <= rounds; r++) {
    const a = await trainTfjs(epochs, batchSize, limit);
    ours += a.seconds;
    const k = typeof python === 'string' ? trainKeras(python, epochs, batchSize, limit) : undefined;
    keras += k?.seconds ?? NaN;
    oursCpu += a.cpuSeconds;
    kerasCpu += k?.cpuSeconds ?? NaN;
    const cpu = k
      ? `${a.cpuSeconds.toFixed(1)} / ${k.cpuSeconds.toFixed(1)} = ${(a.cpuSeconds / k.cpuSeconds).toFixed(2)}×`
      : '-';
    log(
      `| ${r} | ${a.seconds.toFixed(1)} | ${a.imagesPerSecond.toFixed(0)} | ${pct(a.testAccuracy)} | ${k ? k.seconds.toFixed(1) : '-'} | ${k ? k.imagesPerSecond.toFixed(0) : '-'} | ${k ? pct(k.testAccuracy) : '-'} | ${k ? (a.seconds / k.seconds).toFixed(2) + '×' : '-'} | ${cpu} | ${a.load} / ${k?.load ?? '-'} |`,
    );
  }
  log(
    `overall: ours ${ours.toFixed(1)} s, Keras ${keras.toFixed(1)} s = **${(ours / keras).toFixed(2)}×** wall (goal ≤ 1.3×); CPU ${oursCpu.toFixed(1)} s vs ${kerasCpu.toFixed(1)} s = ${(oursCpu / kerasCpu).toFixed(2)}×; ${load()}`,
  );
}

async function run(): Promise<void> {
  const tf = tensorflow();
  log(`# Scanflow ML benchmark (${scoringOnly ? 'scoring throughput only' : quick ? 'quick' : 'full'} run)`);
  log(
    `backend ${tf.getBackend()}, libtensorflow ${libtensorflowVersion()}, tfjs ${tf.version.tfjs}, ${new Date().toISOString()}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  if (trainingOnly) {
    await compareTraining();
    return;
  }
  if (servingOnly) {
    await servingDuringRetrain();
    return;
  }
  if (recipesOnly) {
    await compareRecipes();
    return;
  }
  if (detectorRecipesOnly) {
    await compareDetectorRecipes(log);
    return;
  }
  if (adaptationCostOnly) {
    await compareAugmentationCost();
    return;
  }
  if (adaptationOnly) {
    await compareAdaptation(quick);
    return;
  }
  if (labelsOnly) {
    const v1 = buildClassifier(1);
    await trainClassifier(v1, loadMnist('train', CLASSIFIER_TRAIN), { epochs: 2, seed: 1 });
    const ae = buildAutoencoder(1);
    await trainAutoencoder(ae, loadMnist('train', AE_TRAIN), { epochs: 1, seed: 1 });
    const test = loadMnist('test');
    const split = referenceAndTrafficIndices(1);
    const detector = DriftDetector.calibrate(ae, subset(test, split.reference), { mode: 'features' });
    await compareLabelSources(v1, detector, subset(test, split.traffic));
    return;
  }
  if (scoringOnly) {
    const test = loadMnist('test');
    const split = referenceAndTrafficIndices(1);
    const autoencoder = buildAutoencoder(1);
    measureScoring(
      test,
      DriftDetector.calibrate(autoencoder, subset(test, split.reference), { mode: 'l2' }),
      DriftDetector.calibrate(autoencoder, subset(test, split.reference), { mode: 'features' }),
    );
    return;
  }

  // 0. Training speed against Keras.
  await compareTraining();

  // 1. Classifier.
  const train = loadMnist('train', CLASSIFIER_TRAIN);
  const test = loadMnist('test');
  const classifier = buildClassifier(1);
  const trained = await trainClassifier(classifier, train, {
    epochs: CLASSIFIER_EPOCHS,
    seed: 1,
    onEpoch: (e, l) => log(`  classifier epoch ${e + 1}/${CLASSIFIER_EPOCHS}: loss ${l.toFixed(4)}`),
  });
  const clean = evaluateClassifier(classifier, test);
  log('\n## Classifier (CNN, 225k parameters)');
  log(
    `training: ${train.count} images × ${CLASSIFIER_EPOCHS} epochs in ${trained.seconds.toFixed(1)} s = ${trained.imagesPerSecond.toFixed(0)} img/s`,
  );
  log(
    `MNIST test accuracy: ${pct(clean.accuracy)} (goal ≥ 98%); per class: ${clean.perClass.map((a) => pct(a)).join(' ')}`,
  );

  // 2. Autoencoder + detector throughput.
  const autoencoder = buildAutoencoder(1);
  const aeTrain = await trainAutoencoder(autoencoder, loadMnist('train', AE_TRAIN), {
    epochs: AE_EPOCHS,
    seed: 1,
    onEpoch: (e, l) => log(`  autoencoder epoch ${e + 1}/${AE_EPOCHS}: loss ${l.toFixed(4)}`),
  });
  const split = referenceAndTrafficIndices(1);
  const reference = subset(test, split.reference);
  const trafficClean = subset(test, split.traffic);
  const l2 = DriftDetector.calibrate(autoencoder, reference, { mode: 'l2' });
  const features = DriftDetector.calibrate(autoencoder, reference, { mode: 'features' });
  log('\n## Drift detector (original conv autoencoder, 4,385 parameters)');
  log(
    `autoencoder training: ${AE_TRAIN} images × ${AE_EPOCHS} epochs in ${aeTrain.seconds.toFixed(1)} s = ${aeTrain.imagesPerSecond.toFixed(0)} img/s (final MSE ${aeTrain.finalLoss.toFixed(4)})`,
  );
  measureScoring(test, l2, features);
  log(
    `thresholds (95th percentile of ${reference.count} clean reference images): l2 ${l2.state.calibration.threshold.toFixed(3)}, features ${features.state.calibration.threshold.toFixed(3)}`,
  );

  // 3 + 4. Per corruption: AUROC on the traffic part (clean vs the same digits corrupted) and baseline accuracy on the full corrupted test split.
  const cleanL2 = l2.score(trafficClean);
  const cleanFeatures = features.score(trafficClean);
  log(
    '\n## Per corruption: detection AUROC (clean traffic vs corrupted traffic, 7,000 each) and baseline accuracy (10,000)',
  );
  log('| corruption | AUROC l2 (original) | AUROC features (ours) | flagged @95th, features | classifier accuracy |');
  log('|---|---|---|---|---|');
  const rows: { name: CorruptionName; a1: number; a2: number; acc: number }[] = [];
  for (const name of CORRUPTIONS) {
    const corrupted = corruptImageSet(test, name, 0);
    const traffic = subset(corrupted, split.traffic);
    const a1 = auroc(cleanL2, l2.score(traffic));
    const fScores = features.score(traffic);
    const a2 = auroc(cleanFeatures, fScores);
    const flagged = fScores.filter((s) => s > features.state.calibration.threshold).length / fScores.length;
    const acc = evaluateClassifier(classifier, corrupted).accuracy;
    rows.push({ name, a1, a2, acc });
    log(`| ${name} | ${a1.toFixed(3)} | ${a2.toFixed(3)} | ${pct(flagged)} | ${pct(acc)} |`);
  }
  const mean = (f: (r: (typeof rows)[number]) => number): number => rows.reduce((s, r) => s + f(r), 0) / rows.length;
  log(
    `| **mean** | **${mean((r) => r.a1).toFixed(3)}** | **${mean((r) => r.a2).toFixed(3)}** | | **${pct(mean((r) => r.acc))}** |`,
  );
  log(
    `weakest for features: ${[...rows]
      .sort((a, b) => a.a2 - b.a2)
      .slice(0, 3)
      .map((r) => `${r.name} ${r.a2.toFixed(3)}`)
      .join(', ')}`,
  );

  // 5. Picking methods under one label budget.
  await comparePicking(classifier, features, trafficClean);

  // 6. Where labels come from: true labels, the model's own (pseudo), or both.
  await compareLabelSources(classifier, features, trafficClean);
}

/**
 * V1's training recipe against its robustness: the same CNN trained on the 60,000 MNIST images
 * with each recipe and seed, then its clean test accuracy and its mean accuracy over the 15
 * MNIST-C corruptions (2,000 test images each, every fifth). Seeds matter as much as recipes
 * (one seed's fog accuracy moves by 10 points), so each recipe runs on the same 3 seeds; times
 * are wall times on a shared machine (load printed), to compare within one run only.
 */
const WHOLE_PIXEL_SHIFTS: AugmentOptions = {
  rotateDegrees: 0,
  zoom: 0,
  shift: 0.1,
  noiseShare: 0,
  noiseStd: 0,
  blurShare: 0,
  wholePixelShifts: true,
};

async function compareRecipes(): Promise<void> {
  const all: {
    name: string;
    batchSize?: number;
    warmupBatchSize?: number;
    epochs: number;
    augmentation?: AugmentOptions | 'none';
  }[] = [
    {
      name: 'default: 1 epoch at batch 32, then batch 128 (2 epochs), V1_AUGMENTATION (augment.ts)',
      epochs: 2,
    },
    {
      name: 'V1_AUGMENTATION, warm-up epoch at batch 64, then batch 128 (2 epochs)',
      epochs: 2,
      warmupBatchSize: 64,
    },
    {
      name: 'V1_AUGMENTATION, batch 128 throughout (2 epochs, no warm-up)',
      epochs: 2,
      batchSize: 128,
      augmentation: V1_AUGMENTATION,
    },
    {
      name: 'warm-up recipe without augmentation (1 epoch at batch 32, then batch 128; before)',
      epochs: 2,
      augmentation: 'none',
    },
    {
      name: 'warm-up recipe + generic augmentation (augment.ts) in every batch',
      epochs: 2,
      augmentation: GENERIC_AUGMENTATION,
    },
    {
      name: 'warm-up recipe + geometric augmentation only (no noise, no blur)',
      epochs: 2,
      augmentation: { ...GENERIC_AUGMENTATION, noiseShare: 0, blurShare: 0 },
    },
    {
      name: 'warm-up recipe + whole-pixel shifts ±3 px only (no rotation, zoom, noise, blur)',
      epochs: 2,
      augmentation: { ...WHOLE_PIXEL_SHIFTS },
    },
    {
      name: 'warm-up recipe + whole-pixel shifts ±3 px on half the images',
      epochs: 2,
      augmentation: { ...WHOLE_PIXEL_SHIFTS, affineShare: 0.5 },
    },
    {
      name: 'warm-up recipe + whole-pixel shifts on half the images + colour jitter (brightness ±0.4, contrast ±0.4) on half',
      epochs: 2,
      augmentation: { ...WHOLE_PIXEL_SHIFTS, affineShare: 0.5, jitterShare: 0.5, brightness: 0.4, contrast: 0.4 },
    },
    {
      name: 'warm-up recipe + generic augmentation on half the images + colour jitter on half (V1_AUGMENTATION, given explicitly)',
      epochs: 2,
      augmentation: V1_AUGMENTATION,
    },
    {
      name: 'warm-up recipe + generic augmentation on half the images (affine 50 %, noise 15 %, blur 15 %)',
      epochs: 2,
      augmentation: { ...GENERIC_AUGMENTATION, affineShare: 0.5, noiseShare: 0.15, blurShare: 0.15 },
    },
    { name: 'batch 128, 2 epochs', batchSize: 128, epochs: 2 },
    { name: 'batch 128, 3 epochs', batchSize: 128, epochs: 3 },
    { name: 'batch 64, 2 epochs', batchSize: 64, epochs: 2 },
    { name: 'batch 32, 2 epochs', batchSize: 32, epochs: 2 },
  ];
  // SCANFLOW_BENCH_RECIPES=<regular expression>: only the recipes whose name matches (a short re-measure).
  const only = process.env.SCANFLOW_BENCH_RECIPES;
  const recipes = only ? all.filter((r) => new RegExp(only).test(r.name)) : all;
  const seeds = (process.env.SCANFLOW_BENCH_SEEDS ?? (quick ? '1' : '1,2,3')).split(',').map(Number);
  const train = loadMnist('train');
  const test = loadMnist('test');
  const sample = subset(
    test,
    Array.from({ length: 2000 }, (_, i) => i * 5),
  );
  const corrupted = CORRUPTIONS.map((name) => corruptImageSet(sample, name, 0));
  log(`\n## V1's training recipe: robustness (MNIST-C mean, 15 × 2,000 images) and time, seeds ${seeds.join(', ')}`);
  log('| recipe | MNIST-C mean (per seed) | clean test accuracy | training s (per seed) | CPU s | load average |');
  log('|---|---|---|---|---|---|');
  for (const recipe of recipes) {
    const robust: number[] = [];
    const clean: number[] = [];
    const seconds: number[] = [];
    const cpuSeconds: number[] = [];
    const perCorruption: number[] = [];
    for (const seed of seeds) {
      const model = buildClassifier(seed);
      const cpu = process.cpuUsage();
      const r = await trainClassifier(model, train, {
        epochs: recipe.epochs,
        batchSize: recipe.batchSize,
        warmupBatchSize: recipe.warmupBatchSize,
        seed,
        augmentation: recipe.augmentation,
      });
      const used = process.cpuUsage(cpu);
      cpuSeconds.push((used.user + used.system) / 1e6);
      seconds.push(r.seconds);
      clean.push(evaluateClassifier(model, test).accuracy);
      const each = corrupted.map((set) => evaluateClassifier(model, set).accuracy);
      each.forEach((a, k) => (perCorruption[k] = (perCorruption[k] ?? 0) + a / seeds.length));
      robust.push(each.reduce((sum, a) => sum + a, 0) / corrupted.length);
      model.dispose();
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    log(
      `| ${recipe.name} | **${pct(mean(robust))}** (${robust.map(pct).join(', ')}) | ${pct(mean(clean))} | ${mean(seconds).toFixed(1)} (${seconds.map((x) => x.toFixed(1)).join(', ')}) | ${mean(cpuSeconds).toFixed(1)} | ${load()} |`,
    );
    log(`  per corruption: ${CORRUPTIONS.map((c, k) => `${c} ${pct(perCorruption[k] ?? NaN)}`).join(', ')}`);
  }
}

/**
 * Learning from fewer labels: the case-study loop in miniature (5 batches × 1,000 traffic images,
 * 50% corrupted, all 15 kinds; the detector flags; V1 is fine-tuned once on what was labelled, plus
 * replay) with the labels from (a) the oracle within a budget (least-confidence picks), (b) the
 * paper's pseudo-labels (V1's own predictions on picked samples: 0 true labels; picks by
 * least-confidence, and by most-confidence), (c) a mix (the oracle's least-confidence picks plus
 * 100 confident flagged samples pseudo-labelled per batch). Accuracy on 5,000 held-out drifted
 * images, gain over V1 and gain per 100 true labels; 2 streams per row.
 */
async function compareLabelSources(v1: LayersModel, detector: DriftDetector, trafficClean: ImageSet): Promise<void> {
  const schedule = [{ fromBatch: 0, share: 0.5, corruptions: [...CORRUPTIONS] }];
  const { streamSource, heldSource } = streamAndHeldHalves(trafficClean);
  const heldStream = new DriftStream({ seed: 99, batchSize: 5000, schedule, source: heldSource }, 0);
  const held = heldStream.batch(0);
  const heldLabelled = { ...held.images, labels: heldStream.oracle.truthFor(held.images.ids ?? []) };
  const replay = loadMnist('train');
  const before = evaluateClassifier(v1, heldLabelled).accuracy;
  const weights = v1.getWeights().map((w) => w.clone());
  log(
    `\n## Where labels come from: 5 batches × 1,000 images (50% corrupted, 15 kinds), one fine-tune of V1; ${load()}`,
  );
  log(`V1 on held-out drifted traffic: ${pct(before)}`);
  log(
    '| labels | true labels | pseudo-labels | pseudo-labels right | drifted accuracy (mean of 2 streams) | gain | gain per 100 true labels |',
  );
  log('|---|---|---|---|---|---|---|');
  type Row = { name: string; trueLabels: number; pseudo: 'none' | 'picked' | 'confident'; confidentPerBatch: number };
  const rows: Row[] = [
    { name: 'oracle, 250', trueLabels: 250, pseudo: 'none', confidentPerBatch: 0 },
    { name: 'oracle, 500', trueLabels: 500, pseudo: 'none', confidentPerBatch: 0 },
    { name: 'pseudo (paper): least-confidence picks, 250', trueLabels: 0, pseudo: 'picked', confidentPerBatch: 0 },
    { name: 'pseudo: most-confident flagged, 500', trueLabels: 0, pseudo: 'confident', confidentPerBatch: 100 },
    { name: 'mix: oracle 250 + 500 confident pseudo', trueLabels: 250, pseudo: 'confident', confidentPerBatch: 100 },
  ];
  for (const row of rows) {
    const accs: number[] = [];
    let pseudoCount = 0;
    let pseudoRight = 0;
    for (const seed of [7, 8]) {
      const stream = new DriftStream({ seed, batchSize: 1000, schedule, source: streamSource }, 10_000);
      const parts: ImageSet[] = [];
      for (let b = 0; b < 5; b++) {
        const batch = stream.next();
        const { scores, verdict } = detector.judge(batch.images);
        const { predicted, confidence } = predict(v1, batch.images);
        const perBatch = row.pseudo === 'picked' ? 50 : row.trueLabels / 5;
        const picked = pickCriticalPoints({
          scores,
          flagged: verdict.flagged,
          budget: perBatch,
          method: 'least-confidence',
          seed: seed * 100 + b,
          predicted,
          confidence,
        });
        const chosen = subset(batch.images, picked);
        const truth = stream.oracle.truthFor(chosen.ids ?? []);
        if (row.pseudo === 'picked') {
          const labels = Int32Array.from(picked, (i) => predicted[i] ?? 0);
          pseudoCount += labels.length;
          labels.forEach((l, k) => (pseudoRight += l === truth[k] ? 1 : 0));
          parts.push({ ...chosen, labels });
        } else if (perBatch > 0) {
          parts.push({ ...chosen, labels: stream.oracle.label(chosen.ids ?? []) });
        }
        if (row.pseudo === 'confident') {
          const taken = new Set(picked);
          const confident = verdict.flagged
            .filter((i) => !taken.has(i) && (confidence[i] ?? 0) >= 0.9)
            .sort((a, b2) => (confidence[b2] ?? 0) - (confidence[a] ?? 0))
            .slice(0, row.confidentPerBatch);
          const images = subset(batch.images, confident);
          const labels = Int32Array.from(confident, (i) => predicted[i] ?? 0);
          const t = stream.oracle.truthFor(images.ids ?? []);
          pseudoCount += labels.length;
          labels.forEach((l, k) => (pseudoRight += l === t[k] ? 1 : 0));
          parts.push({ ...images, labels });
        }
      }
      v1.setWeights(weights);
      await fineTuneClassifier(v1, concatImageSets(parts), replay, { seed: 3, epochs: 5 });
      accs.push(evaluateClassifier(v1, heldLabelled).accuracy);
    }
    const acc = accs.reduce((a, b) => a + b, 0) / accs.length;
    const gain = acc - before;
    log(
      `| ${row.name} | ${row.trueLabels} | ${pseudoCount / 2} | ${pseudoCount ? pct(pseudoRight / pseudoCount) : '–'} | ${pct(acc)} (${accs.map(pct).join(', ')}) | ${(100 * gain).toFixed(1)} pts | ${row.trueLabels ? ((100 * gain) / (row.trueLabels / 100)).toFixed(2) + ' pts' : '– (0 true labels)'} |`,
    );
  }
  v1.setWeights(weights);
  weights.forEach((w) => w.dispose());
  log(load());
}

function measureScoring(test: ImageSet, l2: DriftDetector, features: DriftDetector): void {
  for (const [name, detector] of [
    ['l2 (original score)', l2],
    ['features (ours)', features],
  ] as const) {
    detector.score(
      subset(
        test,
        Array.from({ length: 256 }, (_, i) => i),
      ),
    ); // warm-up
    const rates: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      detector.score(test);
      rates.push(test.count / ((performance.now() - t0) / 1000));
    }
    log(
      `scoring throughput, ${name}: median ${median(rates).toFixed(0)} img/s over 5 runs of 10,000 images (max ${Math.max(...rates).toFixed(0)}, min ${Math.min(...rates).toFixed(0)}; goal ≥ 8,000)`,
    );
  }
}

/**
 * The case-study loop in miniature: 5 traffic batches of 1,000 images, 50% corrupted (uniform over
 * the 15 corruptions); per batch the detector flags, a method picks 50 (5% of traffic: the label
 * budget, 250 labels in all), the oracle labels them; then V1 is fine-tuned on the 250 + replay
 * and evaluated on 5,000 held-out drifted images (same mixture) and on clean test digits.
 * Repeated over 3 seeded streams per method.
 */
async function comparePicking(v1: LayersModel, detector: DriftDetector, trafficClean: ImageSet): Promise<void> {
  const schedule = [{ fromBatch: 0, share: 0.5, corruptions: [...CORRUPTIONS] }];
  const { streamSource, heldSource } = streamAndHeldHalves(trafficClean);
  const heldStream = new DriftStream({ seed: 99, batchSize: 5000, schedule, source: heldSource }, 0);
  const held = heldStream.batch(0);
  const heldLabelled = { ...held.images, labels: heldStream.oracle.truthFor(held.images.ids ?? []) };
  const cleanHeld = { ...heldSource, ids: undefined };
  const replay = loadMnist('train');
  const before = evaluateClassifier(v1, heldLabelled).accuracy;
  log(
    '\n## Critical-point picking: 5 batches × 1,000 traffic images (50% corrupted, all 15 kinds), budget 50 labels per batch (250 total), 3 streams per method',
  );
  log(
    `V1 on held-out drifted traffic: ${pct(before)}; on held-out clean: ${pct(evaluateClassifier(v1, cleanHeld).accuracy)}`,
  );
  log(
    '| method | picked truly corrupted | picked V1 got wrong | corruption kinds covered | V2 drifted accuracy, mean (min–max) | V2 clean accuracy, mean |',
  );
  log('|---|---|---|---|---|---|');
  const weights = v1.getWeights().map((w) => w.clone());
  const SEEDS = [7, 8, 9];
  for (const method of PICK_METHODS) {
    let corrupted = 0;
    let wrong = 0;
    let labelledTotal = 0;
    let kindsTotal = 0;
    const driftedAcc: number[] = [];
    const cleanAcc: number[] = [];
    // Three independent streams (seeds) per method: one run is too noisy to rank methods.
    for (const seed of SEEDS) {
      const stream = new DriftStream({ seed, batchSize: 1000, schedule, source: streamSource }, 250);
      const parts: ImageSet[] = [];
      const kinds = new Set<string>();
      for (let b = 0; b < 5; b++) {
        const batch = stream.next();
        const { scores, verdict } = detector.judge(batch.images);
        const { predicted, confidence } = predict(v1, batch.images);
        const picked = pickCriticalPoints({
          scores,
          flagged: verdict.flagged,
          budget: 50,
          method,
          seed: seed * 100 + b,
          predicted,
          confidence,
        });
        const chosen = subset(batch.images, picked);
        const labels = stream.oracle.label(chosen.ids ?? []);
        parts.push({ ...chosen, labels });
        picked.forEach((i, j) => {
          if (batch.kinds[i] !== 'clean') {
            corrupted += 1;
            kinds.add(batch.kinds[i] ?? '');
          }
          if (predicted[i] !== labels[j]) wrong += 1;
        });
      }
      const labelled = concatImageSets(parts);
      labelledTotal += labelled.count;
      kindsTotal += kinds.size;
      // Same starting point for every run: V1's weights.
      v1.setWeights(weights);
      await fineTuneClassifier(v1, labelled, replay, { seed: 3, epochs: 5 });
      driftedAcc.push(evaluateClassifier(v1, heldLabelled).accuracy);
      cleanAcc.push(evaluateClassifier(v1, cleanHeld).accuracy);
    }
    const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    log(
      `| ${method} | ${pct(corrupted / labelledTotal)} | ${pct(wrong / labelledTotal)} | ${(kindsTotal / SEEDS.length).toFixed(1)}/15 | ` +
        `${pct(avg(driftedAcc))} (${pct(Math.min(...driftedAcc))}–${pct(Math.max(...driftedAcc))}) | ${pct(avg(cleanAcc))} |`,
    );
  }
  v1.setWeights(weights);
  weights.forEach((w) => w.dispose());
}

/**
 * Retraining that does not starve serving: a model-server process (src/serving) answers a steady
 * 100 requests/s from a separate traffic process (src/traffic) while this process (the ML worker's
 * role) trains the classifier on 20,000 images: idle, training at normal priority, with only
 * TensorFlow's compute threads at nice 10, with the JavaScript thread too (what the training
 * activities do, src/activities/ml/priority.ts), idle again. p50/p99 per phase, from the client.
 */
async function servingDuringRetrain(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'scanflow-serving-priority-'));
  const registry = new ModelRegistry(new LocalDirectoryStore(dir), 'mnist-classifier');
  const served = buildClassifier(2);
  const v = await registry.register({
    model: served,
    metrics: { accuracy: 0 },
    lineage: { datasets: [], notes: 'bench' },
  });
  await registry.promote(v.version);
  const port = 18600 + Math.floor(Math.random() * 200);
  const tsx = join(root, 'node_modules/.bin/tsx');
  const server = spawn(
    tsx,
    [join(root, 'src/serving/main.ts'), '--store', dir, '--model', 'mnist-classifier', '--port', String(port)],
    {
      stdio: 'ignore',
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 120; i++) {
    const ok = await fetch(`${url}/v2/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const traffic = (seconds: number) =>
    new Promise<{ p50: number; p99: number; failed: number }>((resolve, reject) => {
      const child = spawn(
        tsx,
        [
          join(root, 'src/traffic/main.ts'),
          '--url',
          url,
          '--model',
          'mnist-classifier',
          '--rate',
          '100',
          '--concurrency',
          '4',
          '--duration-s',
          String(seconds),
          '--json',
        ],
        {
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', () => {
        try {
          const r = JSON.parse(out) as { latencyMs: { p50: number; p99: number }; failed: number };
          resolve({ p50: r.latencyMs.p50, p99: r.latencyMs.p99, failed: r.failed });
        } catch (err) {
          reject(err as Error);
        }
      });
    });
  const data = loadMnist('train', 20000);
  const train = async () => {
    const model = buildClassifier(3);
    await trainClassifier(model, data, { epochs: 1, seed: 3, onProgress: () => undefined });
    model.dispose();
  };
  log(`\n## Serving during a retrain: p99 of a model server at 100 req/s while this process trains; ${load()}`);
  log('| phase | p50 ms | p99 ms | failed | load average |');
  log('|---|---|---|---|---|');
  const phase = async (name: string, work?: () => Promise<void>) => {
    await new Promise((r) => setTimeout(r, 1000));
    const measured = traffic(work ? 8 : 6);
    // Training starts once the client runs (its start-up is not in the phase), and outlasts it.
    await new Promise((r) => setTimeout(r, 1500));
    if (work) await work();
    const m = await measured;
    log(`| ${name} | ${m.p50.toFixed(1)} | ${m.p99.toFixed(1)} | ${m.failed} | ${load()} |`);
  };
  try {
    await phase('idle');
    await phase('retrain, normal priority', train);
    await phase('retrain, only TensorFlow threads at nice 10', async () => {
      for (const tid of readdirSync('/proc/self/task'))
        if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith('tf_')) setPriority(Number(tid), 10);
      await train();
    });
    await phase('retrain as the training activities run it (lowerTrainingPriority: + the JS thread)', async () => {
      lowerTrainingPriority(10);
      await train();
    });
    await phase('idle again');
  } finally {
    server.kill('SIGTERM');
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
