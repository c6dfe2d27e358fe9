/**
 * `npx tsx bench/ml-batchnorm.ts`: issue #14's go/no-go for BatchNorm and unsupervised test-time
 * adaptation of its statistics (src/ml/batch-norm.ts), side by side with today's V1.
 *
 * - A: V1 as the product built it before issue #14 (buildClassifierWithoutBatchNorm), trainClassifier's default recipe (2 epochs,
 *   warm-up, V1_AUGMENTATION).
 * - B: the same with a BatchNormalization after each conv, before its ReLU (buildBatchNormClassifier,
 *   momentum BATCH_NORM_MOMENTUM), the same recipe; BN trains by its own rule (batch-norm.ts).
 * - B+adapt: B with its BN statistics re-estimated on a window of 1,200 target images, no labels,
 *   blended with the source statistics by the prior N = BATCH_NORM_PRIOR (Schneider et al. 2020);
 *   the window is never the images scored.
 *
 * Scored on: the clean MNIST test split (10,000; B+adapt adapted on 1,200 clean stream digits);
 * MNIST-C (the 15 corruptions, 2,000 test images each, every fifth, as bench/ml.ts --recipes; the
 * adaptation window: 1,200 other test images under the same corruption); every drifted phase of
 * the mixes of bench/ml-adaptation.ts (2,000 held-out images a phase from digits the stream never
 * serves; the window: 1,200 images of the same phase from the stream's digits); and the retrain:
 * the demo's label pattern (bench/ml-adaptation.ts collect) on the default mix, each model
 * fine-tuned once (4 epochs, batch 32, lr 3e-4, replay 2×), scored on the last phase (3,000).
 *
 * V1 seeds 1 and 2 (SCANFLOW_BENCH_V1_SEEDS), stream seeds 1 and 2 (SCANFLOW_BENCH_SEEDS);
 * trained models are cached under SCANFLOW_BENCH_CACHE (default $TMPDIR/scanflow-bench-batchnorm)
 * with their training times (A and B trained alternately, so their times share the same load).
 * SCANFLOW_BENCH_RETRAIN_MIXES=0,1 (indices into MIXES; default 0) picks the retrain's mixes.
 * `--kernels`: only the training time of B with tfjs's BN layer against the native fused ops.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { V1_AUGMENTATION } from '../src/ml/augment.js';
import { buildAutoencoder, trainAutoencoder } from '../src/ml/autoencoder.js';
import {
  BATCH_NORM_MOMENTUM,
  BATCH_NORM_PRIOR,
  adaptBatchNorm,
  restoreBatchNorm,
  saveBatchNorm,
  withBatchNormTraining,
} from '../src/ml/batch-norm.js';
import {
  buildBatchNormClassifier,
  buildClassifierWithoutBatchNorm,
  evaluateClassifier,
  fineTuneClassifier,
  trainClassifier,
} from '../src/ml/classifier.js';
import { CORRUPTIONS } from '../src/ml/corruptions.js';
import { DriftDetector } from '../src/ml/drift-detector.js';
import { DriftStream, type DriftPhase } from '../src/ml/drift-stream.js';
import { corruptImageSet } from '../src/ml/mnist-c.js';
import { concatImageSets, loadMnist, referenceAndTrafficIndices, subset } from '../src/ml/mnist.js';
import { tensorflow } from '../src/ml/tf.js';
import type { ImageSet } from '../src/ml/types.js';
import {
  BATCH,
  CHECKS,
  MIXES,
  cachedModel,
  collect,
  load,
  log,
  mean,
  pct,
  streamAndHeldHalves,
} from './ml-adaptation.js';

const utc = (): string => new Date().toISOString().slice(11, 16) + ' UTC';
const seedsOf = (name: string, fallback: string): number[] => (process.env[name] ?? fallback).split(',').map(Number);

type Arch = 'A' | 'B';
const VARIANTS = ['A', 'B', 'B+adapt'] as const;
type VariantName = (typeof VARIANTS)[number];

interface Trained {
  arch: Arch;
  seed: number;
  model: LayersModel;
  seconds: number;
  cpuSeconds: number;
  load: string;
}

const cacheDir = (): string => process.env.SCANFLOW_BENCH_CACHE ?? join(tmpdir(), 'scanflow-bench-batchnorm');
const recipeHash = createHash('sha256').update(JSON.stringify(V1_AUGMENTATION)).digest('hex').slice(0, 8);

/** A or B trained with the default recipe (cached with its training time). */
async function trained(arch: Arch, seed: number, train: ImageSet): Promise<Trained> {
  const tf = tensorflow();
  // B: the BN layer's own training rule (native fused ops under the loop's gradient tape), keyed by momentum.
  const dir = join(cacheDir(), `${arch === 'A' ? 'A' : `B-native-m${BATCH_NORM_MOMENTUM}`}-seed${seed}-${recipeHash}`);
  if (existsSync(join(dir, 'model.json')) && existsSync(join(dir, 'time.json'))) {
    const time = JSON.parse(readFileSync(join(dir, 'time.json'), 'utf8')) as Omit<Trained, 'model'>;
    return { ...time, model: await tf.loadLayersModel(`file://${dir}/model.json`) };
  }
  const model = arch === 'A' ? buildClassifierWithoutBatchNorm(seed) : buildBatchNormClassifier(seed);
  const cpu = process.cpuUsage();
  const result = await trainClassifier(model, train, { epochs: 2, seed });
  const used = process.cpuUsage(cpu);
  const time = { arch, seed, seconds: result.seconds, cpuSeconds: (used.user + used.system) / 1e6, load: load() };
  mkdirSync(dir, { recursive: true });
  await model.save(`file://${dir}`);
  writeFileSync(join(dir, 'time.json'), JSON.stringify(time));
  log(
    `trained ${arch} seed ${seed}: ${time.seconds.toFixed(1)} s wall, ${time.cpuSeconds.toFixed(1)} s CPU (${time.load})`,
  );
  return { ...time, model };
}

/** Accuracy of every variant of one V1 seed on `scored`; B+adapt adapts on `window` first (then restored). */
function score(a: LayersModel, b: LayersModel, scored: ImageSet, window: ImageSet): Record<VariantName, number> {
  const accA = evaluateClassifier(a, scored).accuracy;
  const accB = evaluateClassifier(b, scored).accuracy;
  const saved = saveBatchNorm(b);
  adaptBatchNorm(b, window, { prior: BATCH_NORM_PRIOR });
  const accAdapt = evaluateClassifier(b, scored).accuracy;
  restoreBatchNorm(b, saved);
  tensorflow().dispose(saved);
  return { A: accA, B: accB, 'B+adapt': accAdapt };
}

/** A phase's images (labels attached) drawn from `source`. */
function phaseImages(phase: DriftPhase, source: ImageSet, seed: number, count: number): ImageSet {
  const stream = new DriftStream({ seed, batchSize: count, schedule: [{ ...phase, fromBatch: 0 }], source }, 0);
  const batch = stream.batch(0);
  return { ...batch.images, labels: stream.oracle.truthFor(batch.images.ids ?? []), ids: undefined };
}

interface Row {
  name: string;
  /** Per variant: every (V1 seed × stream seed) accuracy. */
  values: Record<VariantName, number[]>;
}

const emptyRow = (name: string): Row => ({ name, values: { A: [], B: [], 'B+adapt': [] } });

function printTable(title: string, rows: Row[]): void {
  log(`\n### ${title}`);
  log('| | A: V1 today | B: + BatchNorm | B+adapt (N = ' + BATCH_NORM_PRIOR + ') | B − A | B+adapt − A |');
  log('|---|---|---|---|---|---|');
  for (const row of rows) {
    const [a, b, ad] = [row.values.A, row.values.B, row.values['B+adapt']];
    const cell = (xs: number[]) => `${pct(mean(xs))} (${xs.map(pct).join(', ')})`;
    const diff = (xs: number[]) => `${(100 * (mean(xs) - mean(a))).toFixed(1)} pts`;
    log(`| ${row.name} | ${cell(a)} | ${cell(b)} | ${cell(ad)} | ${diff(b)} | ${diff(ad)} |`);
  }
}

/**
 * `--kernels`: B's training step with tfjs's BN layer against the native fused ops
 * (withBatchNormTraining's `kernel`), A beside them; the default recipe on the first 12,000
 * training images (SCANFLOW_BENCH_IMAGES), alternating for 2 rounds; wall and CPU time, load beside.
 */
async function compareKernels(): Promise<void> {
  const count = Number(process.env.SCANFLOW_BENCH_IMAGES ?? 12000);
  if (!Number.isInteger(count) || count < 1 || count > 60000)
    throw new Error(`SCANFLOW_BENCH_IMAGES must be an integer in 1..60000, got ${process.env.SCANFLOW_BENCH_IMAGES}`);
  const train = subset(
    loadMnist('train'),
    Array.from({ length: count }, (_, i) => i),
  );
  const test = loadMnist('test');
  log(`# BN training kernels (${count} images, default recipe, 2 epochs): ${utc()}, ${load()}`);
  log('| round | variant | wall s | CPU s | clean test | load average |');
  log('|---|---|---|---|---|---|');
  const sums: Record<string, number> = {};
  for (let round = 1; round <= 2; round++) {
    // SCANFLOW_BENCH_VARIANTS=<regular expression>: only the matching variants (e.g. 'A|native').
    const only = process.env.SCANFLOW_BENCH_VARIANTS;
    for (const variant of (['A', 'B tfjs', 'B native'] as const).filter((v) => !only || new RegExp(only).test(v))) {
      const model = variant === 'A' ? buildClassifierWithoutBatchNorm(round) : buildBatchNormClassifier(round);
      const cpu = process.cpuUsage();
      const run = () => trainClassifier(model, train, { epochs: 2, seed: round });
      const r =
        variant === 'A'
          ? await run()
          : await withBatchNormTraining(model, run, { kernel: variant === 'B tfjs' ? 'tfjs' : 'native' });
      const used = process.cpuUsage(cpu);
      const cpuSeconds = (used.user + used.system) / 1e6;
      sums[variant] = (sums[variant] ?? 0) + cpuSeconds;
      log(
        `| ${round} | ${variant} | ${r.seconds.toFixed(1)} | ${cpuSeconds.toFixed(1)} | ${pct(evaluateClassifier(model, test).accuracy)} | ${load()} |`,
      );
      model.dispose();
    }
  }
  log(
    `CPU over A: B tfjs ${((sums['B tfjs'] ?? NaN) / (sums.A ?? NaN)).toFixed(2)}×, B native ${((sums['B native'] ?? NaN) / (sums.A ?? NaN)).toFixed(2)}×; ${load()}`,
  );
}

async function main(): Promise<void> {
  const v1Seeds = seedsOf('SCANFLOW_BENCH_V1_SEEDS', '1,2');
  const streamSeeds = seedsOf('SCANFLOW_BENCH_SEEDS', '1,2');
  const retrainMixes = seedsOf('SCANFLOW_BENCH_RETRAIN_MIXES', '0');
  log(`# BatchNorm and test-time adaptation (issue #14): ${utc()}, ${load()}`);
  log(
    `V1 seeds ${v1Seeds.join(', ')}; stream seeds ${streamSeeds.join(', ')}; prior N = ${BATCH_NORM_PRIOR}; BN momentum ${BATCH_NORM_MOMENTUM}`,
  );
  const train = loadMnist('train');
  const test = loadMnist('test');

  // A and B alternately, so their training times are taken under the same load.
  const models: Record<Arch, Trained[]> = { A: [], B: [] };
  for (const seed of v1Seeds)
    for (const arch of ['A', 'B'] as const) models[arch].push(await trained(arch, seed, train));
  log('\n### Training (default recipe, 2 epochs of 60,000; as trained, cached runs keep their first figures)');
  log('| V1 seed | A wall s / CPU s | B wall s / CPU s | B/A (wall, CPU) | load when trained (A; B) |');
  log('|---|---|---|---|---|');
  v1Seeds.forEach((seed, i) => {
    const a = models.A[i] as Trained;
    const b = models.B[i] as Trained;
    log(
      `| ${seed} | ${a.seconds.toFixed(1)} / ${a.cpuSeconds.toFixed(1)} | ${b.seconds.toFixed(1)} / ${b.cpuSeconds.toFixed(1)} | ${(b.seconds / a.seconds).toFixed(2)}×, ${(b.cpuSeconds / a.cpuSeconds).toFixed(2)}× | ${a.load}; ${b.load} |`,
    );
  });

  const split = referenceAndTrafficIndices(7);
  const { streamSource, heldSource } = streamAndHeldHalves(subset(test, split.traffic));
  const pairs = v1Seeds.map((_, i) => [models.A[i]?.model, models.B[i]?.model] as [LayersModel, LayersModel]);
  const add = (row: Row, r: Record<VariantName, number>) => VARIANTS.forEach((v) => row.values[v].push(r[v]));

  // Clean.
  const clean = emptyRow('clean MNIST test (10,000)');
  for (const [a, b] of pairs)
    for (const s of streamSeeds)
      add(clean, score(a, b, test, phaseImages({ fromBatch: 0, share: 0, corruptions: [] }, streamSource, s, BATCH)));
  printTable(`Clean digits (${utc()}, ${load()})`, [clean]);

  // MNIST-C.
  const sample = subset(
    test,
    Array.from({ length: 2000 }, (_, i) => i * 5),
  );
  const windowSource = subset(
    test,
    Array.from({ length: BATCH }, (_, i) => i * 5 + 2),
  );
  const corruptionRows = CORRUPTIONS.map((name) => {
    const row = emptyRow(name);
    const scored = corruptImageSet(sample, name, 0);
    const window = corruptImageSet(windowSource, name, 1);
    for (const [a, b] of pairs) add(row, score(a, b, scored, window));
    return row;
  });
  const mnistC = emptyRow('**MNIST-C mean (15 × 2,000)**');
  pairs.forEach((_, i) =>
    VARIANTS.forEach((v) => mnistC.values[v].push(mean(corruptionRows.map((r) => r.values[v][i] ?? NaN)))),
  );
  printTable(`MNIST-C, per V1 seed (${utc()}, ${load()})`, [mnistC, ...corruptionRows]);

  // Drifted phases of every mix.
  const phaseRows: Row[] = [];
  for (const [m, mix] of MIXES.entries()) {
    const phases = [...mix.schedule].sort((a, b) => a.fromBatch - b.fromBatch).filter((p) => p.share > 0);
    for (const [p, phase] of phases.entries()) {
      const row = emptyRow(
        `mix ${m + 1} phase ${p + 1}: ${Math.round(100 * phase.share)} % of ${phase.corruptions.length === CORRUPTIONS.length ? 'all 15' : phase.corruptions.join(', ')}`,
      );
      for (const s of streamSeeds) {
        const scored = phaseImages(phase, heldSource, 4242 + 100 * s + 10 * m + p, 2000);
        const window = phaseImages(phase, streamSource, 1000 * s + 10 * m + p, BATCH);
        for (const [a, b] of pairs) add(row, score(a, b, scored, window));
      }
      phaseRows.push(row);
    }
  }
  const drifted = emptyRow('**mean over the drifted phases of all mixes**');
  const defaultMix = emptyRow('**mean over the default mix (mix 1) phases**');
  const others = emptyRow('**mean over the other mixes’ phases**');
  for (const v of VARIANTS) {
    const runs = phaseRows[0]?.values[v].length ?? 0;
    for (let k = 0; k < runs; k++) {
      drifted.values[v].push(mean(phaseRows.map((r) => r.values[v][k] ?? NaN)));
      defaultMix.values[v].push(
        mean(phaseRows.filter((r) => r.name.startsWith('mix 1 ')).map((r) => r.values[v][k] ?? NaN)),
      );
      others.values[v].push(
        mean(phaseRows.filter((r) => !r.name.startsWith('mix 1 ')).map((r) => r.values[v][k] ?? NaN)),
      );
    }
  }
  log(`\nMixes: ${MIXES.map((m, i) => `mix ${i + 1} = ${m.name}`).join('; ')}`);
  printTable(
    `Drifted phases, no retraining (2,000 held-out images a phase; values per stream seed × V1 seed; ${utc()}, ${load()})`,
    [drifted, defaultMix, others, ...phaseRows],
  );

  // The retrain: the demo's label pattern, one fine-tune, scored on the last phase.
  const autoencoder = await cachedModel(join(cacheDir(), 'autoencoder-seed7'), async () => {
    const model = buildAutoencoder(7);
    await trainAutoencoder(model, train, { epochs: 1, seed: 7 });
    return model;
  });
  const detector = DriftDetector.calibrate(autoencoder, subset(test, split.reference), { mode: 'features' });
  const retrainRows: Row[] = [];
  const retrainCost = { A: [] as number[], B: [] as number[] };
  for (const m of retrainMixes) {
    const mix = MIXES[m];
    if (!mix) throw new Error(`SCANFLOW_BENCH_RETRAIN_MIXES: no mix ${m} (0..${MIXES.length - 1})`);
    const last = [...mix.schedule].sort((a, b) => a.fromBatch - b.fromBatch).at(-1) as DriftPhase;
    const held = phaseImages(last, heldSource, 4242 + m, 3000);
    const row = emptyRow(`mix ${m + 1}, last phase after one fine-tune`);
    for (const s of streamSeeds) {
      for (const [a, b] of pairs) {
        const result = {} as Record<VariantName, number>;
        for (const [arch, model] of [
          ['A', a],
          ['B', b],
        ] as const) {
          const weights = model.getWeights().map((w) => w.clone());
          const stream = new DriftStream(
            { seed: s, batchSize: BATCH, schedule: mix.schedule, source: streamSource },
            0,
          );
          const collected = collect(model, detector, stream, s);
          const data = concatImageSets([collected.trueLabelled, collected.pseudo]);
          const cpu = process.cpuUsage();
          await fineTuneClassifier(model, data, train, { seed: 3, epochs: 4 });
          const used = process.cpuUsage(cpu);
          retrainCost[arch].push((used.user + used.system) / 1e6);
          result[arch] = evaluateClassifier(model, held).accuracy;
          if (arch === 'B') {
            adaptBatchNorm(model, stream.batch(CHECKS - 1).images, { prior: BATCH_NORM_PRIOR });
            result['B+adapt'] = evaluateClassifier(model, held).accuracy;
          }
          model.setWeights(weights);
          tensorflow().dispose(weights);
        }
        add(row, result);
        log(
          `  retrain mix ${m + 1} stream seed ${s}: A ${pct(result.A)}, B ${pct(result.B)}, B+adapt ${pct(result['B+adapt'])} (${load()})`,
        );
      }
    }
    retrainRows.push(row);
  }
  printTable(
    `Retrain with the demo's label pattern (85 true + 100 pseudo a check × ${CHECKS}), 3,000 images of the last phase (${utc()}, ${load()})`,
    retrainRows,
  );
  log(
    `retrain CPU s (fine-tune only): A ${mean(retrainCost.A).toFixed(1)}, B ${mean(retrainCost.B).toFixed(1)} (${(mean(retrainCost.B) / mean(retrainCost.A)).toFixed(2)}×)`,
  );

  const gainB = mean(drifted.values.B) - mean(drifted.values.A);
  const gainAdapt = mean(drifted.values['B+adapt']) - mean(drifted.values.A);
  const cleanB = Math.min(mean(clean.values.B), mean(clean.values['B+adapt']));
  const go = Math.max(gainB, gainAdapt) >= 0.015 && cleanB >= 0.985;
  log(
    `\nGo/no-go: drifted-phase gain B ${(100 * gainB).toFixed(1)} pts, B+adapt ${(100 * gainAdapt).toFixed(1)} pts (needed ≥ 1.5), clean B ${pct(mean(clean.values.B))}, B+adapt ${pct(mean(clean.values['B+adapt']))} (needed ≥ 98.5 %): ${go ? 'GO' : 'NO-GO'} on accuracy (the training cost is judged from the table above); ${utc()}, ${load()}`,
  );
}

await (process.argv.includes('--kernels') ? compareKernels() : main());
