/**
 * `npx tsx bench/ml.ts --adaptation`: what lifts the fine-tuned candidate under drift with the
 * demo's label pattern, measured offline over several drift mixes and stream seeds.
 *
 * Per (mix, seed): the drifting stream of the demo (batches of 1,200, the mix's schedule) for 8
 * checks; per check 600 samples are set aside (as the demo's evaluation share, never trained on),
 * the detector flags, 80 least-confidence flagged samples get true labels, 100 confident flagged
 * samples get V1's pseudo-labels (the demo's default `mix`). V1 (the demo's recipe, seed 7) is then
 * fine-tuned once on all of it plus the MNIST replay (batch 32, lr 3e-4, replay 2×; 4 epochs unless
 * the variant names more: the demo's retrain takes 8) with each variant below, and scored on 3,000 held-out images drawn from the
 * mix's LAST phase (the last interval's traffic) from digits the stream never served, and on
 * 2,000 clean MNIST test digits. The oracle rows (one seed, first two mixes) give the ceiling: every non-evaluation
 * sample of the 8 checks with its true label (8,000), same recipe.
 *
 * V1 and the detector's autoencoder are trained once and cached under SCANFLOW_BENCH_CACHE
 * (default $TMPDIR/scanflow-bench-adaptation), one V1 per recipe (SCANFLOW_BENCH_V1=plain: the
 * recipe without augmentation, to compare). `--quick`: 1 seed, 2 mixes, no oracle.
 * SCANFLOW_BENCH_VARIANTS=<regular expression> runs only the matching variants and
 * SCANFLOW_BENCH_SEEDS=1,2 sets the stream seeds (a shorter re-measure).
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { augmentBatch, V1_AUGMENTATION } from '../src/ml/augment.js';
import { buildAutoencoder, trainAutoencoder } from '../src/ml/autoencoder.js';
import {
  buildClassifier,
  evaluateClassifier,
  fineTuneClassifier,
  predict,
  type FineTuneOptions,
  trainClassifier,
} from '../src/ml/classifier.js';
import { CORRUPTIONS } from '../src/ml/corruptions.js';
import { DriftDetector } from '../src/ml/drift-detector.js';
import { DriftStream, type DriftPhase } from '../src/ml/drift-stream.js';
import { concatImageSets, loadMnist, referenceAndTrafficIndices, subset } from '../src/ml/mnist.js';
import { pickCriticalPoints } from '../src/ml/picking.js';
import { Rng } from '../src/ml/random.js';
import { imagesToTensor } from '../src/ml/tensors.js';
import { tensorflow } from '../src/ml/tf.js';
import type { ImageSet } from '../src/ml/types.js';

export const log = (s = ''): void => console.log(s);
export const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
export const load = (): string =>
  `load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export const CHECKS = 8;
export const BATCH = 1200;
// The demo's defaults (src/apps/mnist/demo-options.ts).
const EVAL_PER_CHECK = 600;
const TRUE_PER_CHECK = 80;
const PSEUDO_PER_CHECK = 100;

/** The demo's default schedule and three others (two are README schedules, one is in none of them). */
export const MIXES: { name: string; schedule: DriftPhase[] }[] = [
  {
    name: 'default (gradual to 80 % of all 15)',
    schedule: [
      { fromBatch: 0, share: 0.2, corruptions: ['fog', 'stripe', 'zigzag', 'canny_edges', 'dotted_line'] },
      { fromBatch: 2, share: 0.5, corruptions: [...CORRUPTIONS] },
      { fromBatch: 4, share: 0.8, corruptions: [...CORRUPTIONS] },
    ],
  },
  {
    name: 'two-phase (40 % noise/blur, then 70 % geometric)',
    schedule: [
      { fromBatch: 0, share: 0.4, corruptions: ['impulse_noise', 'glass_blur', 'motion_blur'] },
      { fromBatch: 4, share: 0.7, corruptions: ['translate', 'shear', 'rotate', 'scale'] },
    ],
  },
  {
    name: '70 % translate + canny_edges',
    schedule: [{ fromBatch: 0, share: 0.7, corruptions: ['translate', 'canny_edges'] }],
  },
  {
    name: '60 % fog, brightness, spatter, shot_noise, zigzag (no README schedule)',
    schedule: [
      { fromBatch: 0, share: 0, corruptions: [] },
      { fromBatch: 2, share: 0.6, corruptions: ['fog', 'brightness', 'spatter', 'shot_noise', 'zigzag'] },
    ],
  },
];

export interface Collected {
  trueLabelled: ImageSet;
  pseudo: ImageSet;
  /** Confident samples whose prediction survives 2 augmented views (consistency filter), pseudo-labelled. */
  consistent: ImageSet;
  /** Every non-evaluation sample with its true label (the oracle's ceiling). */
  all: ImageSet;
  pseudoRight: number;
  consistentRight: number;
}

export async function cachedModel(path: string, make: () => Promise<LayersModel>): Promise<LayersModel> {
  const tf = tensorflow();
  if (existsSync(join(path, 'model.json'))) return tf.loadLayersModel(`file://${path}/model.json`);
  const model = await make();
  mkdirSync(path, { recursive: true });
  await model.save(`file://${path}`);
  return model;
}

/** The demo's label pattern on one stream, plus the other label sources compared. */
export function collect(v1: LayersModel, detector: DriftDetector, stream: DriftStream, seed: number): Collected {
  const tf = tensorflow();
  const parts: Record<'trueLabelled' | 'pseudo' | 'consistent' | 'all', ImageSet[]> = {
    trueLabelled: [],
    pseudo: [],
    consistent: [],
    all: [],
  };
  let pseudoRight = 0;
  let consistentRight = 0;
  for (let b = 0; b < CHECKS; b++) {
    const batch = stream.batch(b);
    const rng = Rng.derive(seed, 0xe7a1, b);
    const evaluation = new Set(rng.sampleIndices(BATCH, EVAL_PER_CHECK));
    const { scores, verdict } = detector.judge(batch.images);
    const { predicted, confidence } = predict(v1, batch.images);
    const flagged = verdict.flagged.filter((i) => !evaluation.has(i));
    const picked = pickCriticalPoints({
      scores,
      flagged,
      budget: TRUE_PER_CHECK,
      method: 'least-confidence',
      seed: seed * 100 + b,
      predicted,
      confidence,
    });
    const chosen = subset(batch.images, picked);
    parts.trueLabelled.push({ ...chosen, labels: stream.oracle.truthFor(chosen.ids ?? []) });
    const taken = new Set(picked);
    const confident = flagged
      .filter((i) => !taken.has(i) && (confidence[i] ?? 0) >= 0.9)
      .sort((a, c) => (confidence[c] ?? 0) - (confidence[a] ?? 0) || a - c)
      .slice(0, PSEUDO_PER_CHECK);
    const pseudo = subset(batch.images, confident);
    const pseudoLabels = Int32Array.from(confident, (i) => predicted[i] ?? 0);
    const truth = stream.oracle.truthFor(pseudo.ids ?? []);
    pseudoLabels.forEach((l, k) => (pseudoRight += l === truth[k] ? 1 : 0));
    parts.pseudo.push({ ...pseudo, labels: pseudoLabels });

    // Consistency filter (FixMatch-style): any non-evaluation, non-picked sample V1 answers with
    // confidence ≥ 0.9 AND the same class on two augmented views; up to 3× the confident quota.
    const x = imagesToTensor(batch.images);
    const views = [1, 2].map((v) => {
      const augmented = augmentBatch(x, Rng.derive(seed, 0xc0, b, v).nextUint32());
      const p = tf.tidy(() => tf.argMax(v1.predict(augmented) as ReturnType<typeof tf.softmax>, 1).dataSync());
      augmented.dispose();
      return p;
    });
    x.dispose();
    const consistent = Array.from({ length: BATCH }, (_, i) => i)
      .filter(
        (i) =>
          !evaluation.has(i) &&
          !taken.has(i) &&
          (confidence[i] ?? 0) >= 0.9 &&
          views.every((p) => p[i] === predicted[i]),
      )
      .sort((a, c) => (scores[c] ?? 0) - (scores[a] ?? 0) || a - c) // most drifted first
      .slice(0, 3 * PSEUDO_PER_CHECK);
    const cons = subset(batch.images, consistent);
    const consLabels = Int32Array.from(consistent, (i) => predicted[i] ?? 0);
    const consTruth = stream.oracle.truthFor(cons.ids ?? []);
    consLabels.forEach((l, k) => (consistentRight += l === consTruth[k] ? 1 : 0));
    parts.consistent.push({ ...cons, labels: consLabels });

    const rest = Array.from({ length: BATCH }, (_, i) => i).filter((i) => !evaluation.has(i));
    const all = subset(batch.images, rest);
    parts.all.push({ ...all, labels: stream.oracle.truthFor(all.ids ?? []) });
  }
  const cat = (sets: ImageSet[]) => concatImageSets(sets.map((s) => ({ ...s, ids: undefined })));
  return {
    trueLabelled: cat(parts.trueLabelled),
    pseudo: cat(parts.pseudo),
    consistent: cat(parts.consistent),
    all: cat(parts.all),
    pseudoRight,
    consistentRight,
  };
}

interface Variant {
  name: string;
  data: (c: Collected) => ImageSet;
  augmentation: NonNullable<FineTuneOptions['augmentation']>;
  /** Epochs of the fine-tuning; default 4 (the demo's retrain before issue #14's last round). */
  epochs?: number;
  /** Run on the first seed of the first two mixes only (the oracle's ceiling is expensive). */
  firstSeedOnly?: boolean;
}

const VARIANTS: Variant[] = [
  {
    name: `mix (${TRUE_PER_CHECK} true + ${PSEUDO_PER_CHECK} pseudo a check), no augmentation: before`,
    data: (c) => mixOf(c),
    augmentation: 'none',
  },
  { name: 'mix + generic augmentation', data: (c) => mixOf(c), augmentation: 'generic' },
  { name: 'mix + generic augmentation + colour jitter', data: (c) => mixOf(c), augmentation: 'generic-jitter' },
  { name: "mix + V1's augmentation (V1_AUGMENTATION)", data: (c) => mixOf(c), augmentation: 'v1' },
  {
    name: "mix + V1's augmentation, 8 epochs (the demo's retrain)",
    data: (c) => mixOf(c),
    augmentation: 'v1',
    epochs: 8,
  },
  { name: "mix + V1's augmentation, 12 epochs", data: (c) => mixOf(c), augmentation: 'v1', epochs: 12 },
  {
    name: 'mix + augmentation + consistency-filtered pseudo-labels (≤ 300 a check)',
    data: (c) => concatImageSets([c.trueLabelled, c.consistent]),
    augmentation: 'generic',
  },
  {
    name: 'oracle: all 8,000 stream samples true-labelled, no augmentation',
    data: (c) => c.all,
    augmentation: 'none',
    firstSeedOnly: true,
  },
  { name: 'oracle + generic augmentation', data: (c) => c.all, augmentation: 'generic', firstSeedOnly: true },
];

const mixOf = (c: Collected): ImageSet => concatImageSets([c.trueLabelled, c.pseudo]);

const cacheDir = (): string => process.env.SCANFLOW_BENCH_CACHE ?? join(tmpdir(), 'scanflow-bench-adaptation');

/**
 * V1 as the demo trains it (seed 7, 2 epochs of the default recipe), cached per recipe.
 * SCANFLOW_BENCH_V1=plain: without the bootstrap's augmentation (the recipe before it), to compare.
 */
function cachedV1(train: ImageSet): Promise<LayersModel> {
  const recipe = process.env.SCANFLOW_BENCH_V1 ?? 'default';
  if (!['default', 'plain'].includes(recipe))
    throw new Error(`SCANFLOW_BENCH_V1 must be 'default' or 'plain', got ${JSON.stringify(recipe)}`);
  return cachedModel(
    join(
      cacheDir(),
      recipe === 'plain'
        ? 'v1-seed7-bn'
        : // -bn: V1 with BatchNorm (issue #14); the cache of the CNN before it has no suffix.
          `v1-seed7-bn-augmented-${createHash('sha256').update(JSON.stringify(V1_AUGMENTATION)).digest('hex').slice(0, 8)}`,
    ),
    async () => {
      const model = buildClassifier(7);
      await trainClassifier(model, train, {
        epochs: 2,
        seed: 7,
        augmentation: recipe === 'plain' ? 'none' : V1_AUGMENTATION,
      });
      return model;
    },
  );
}

/** SCANFLOW_BENCH_VARIANTS=<regular expression>: only the variants whose name matches. */
const selectedVariants = (variants: Variant[]): Variant[] => {
  const only = process.env.SCANFLOW_BENCH_VARIANTS;
  return only ? variants.filter((v) => new RegExp(only).test(v.name)) : variants;
};

/**
 * `--adaptation-cost`: what augmentation adds to a retrain. The demo's last retrain in size (8 ×
 * 185 labelled drifted samples + 2× replay, 4 epochs at batch 32) from V1, without and with
 * augmentation, alternating for 3 rounds; wall and CPU time (all threads) of each, load beside.
 */
export async function compareAugmentationCost(): Promise<void> {
  const train = loadMnist('train');
  const v1 = await cachedV1(train);
  const weights = v1.getWeights().map((w) => w.clone());
  const stream = new DriftStream(
    {
      seed: 1,
      batchSize: 1480,
      schedule: [{ ...(MIXES[0]?.schedule.at(-1) as DriftPhase), fromBatch: 0 }],
      source: loadMnist('test'),
    },
    0,
  );
  const batch = stream.batch(0);
  const labelled = { ...batch.images, labels: stream.oracle.truthFor(batch.images.ids ?? []), ids: undefined };
  log(`\n## Cost of augmentation in a retrain (1,480 labelled + 2,960 replay × 4 epochs, batch 32); ${load()}`);
  log(
    '| round | no augmentation: wall s / CPU s | generic augmentation: wall s / CPU s | ratio (CPU) | load average |',
  );
  log('|---|---|---|---|---|');
  const sums = { none: 0, generic: 0 };
  for (let round = 1; round <= 3; round++) {
    const row: Record<'none' | 'generic', [number, number]> = { none: [0, 0], generic: [0, 0] };
    for (const augmentation of ['none', 'generic'] as const) {
      v1.setWeights(weights);
      const cpu = process.cpuUsage();
      const r = await fineTuneClassifier(v1, labelled, train, { seed: 3, epochs: 4, augmentation });
      const used = process.cpuUsage(cpu);
      row[augmentation] = [r.seconds, (used.user + used.system) / 1e6];
      sums[augmentation] += row[augmentation][1];
    }
    log(
      `| ${round} | ${row.none[0].toFixed(1)} / ${row.none[1].toFixed(1)} | ${row.generic[0].toFixed(1)} / ${row.generic[1].toFixed(1)} | ${(row.generic[1] / row.none[1]).toFixed(2)}× | ${load()} |`,
    );
  }
  log(`overall CPU: ${(sums.generic / sums.none).toFixed(2)}× with augmentation; ${load()}`);
  weights.forEach((w) => w.dispose());
}

export async function compareAdaptation(quick: boolean): Promise<void> {
  const train = loadMnist('train');
  const test = loadMnist('test');
  const v1 = await cachedV1(train);
  const autoencoder = await cachedModel(join(cacheDir(), 'autoencoder-seed7'), async () => {
    const model = buildAutoencoder(7);
    await trainAutoencoder(model, train, { epochs: 1, seed: 7 });
    return model;
  });
  const split = referenceAndTrafficIndices(7);
  const detector = DriftDetector.calibrate(autoencoder, subset(test, split.reference), { mode: 'features' });
  const traffic = subset(test, split.traffic);
  const { streamSource, heldSource } = streamAndHeldHalves(traffic);
  // Clean digits the stream never serves (the held-out half's first 2,000), V1 never trained on.
  const clean = subset(
    heldSource,
    Array.from({ length: 2000 }, (_, i) => i),
  );
  const weights = v1.getWeights().map((w) => w.clone());
  const seeds = (process.env.SCANFLOW_BENCH_SEEDS ?? (quick ? '1' : '1,2')).split(',').map(Number);
  const mixes = quick ? MIXES.slice(0, 2) : MIXES;
  log(`V1: ${process.env.SCANFLOW_BENCH_V1 ?? 'default'} recipe`);
  const variants = selectedVariants(quick ? VARIANTS.filter((v) => !v.firstSeedOnly) : VARIANTS);

  log(
    `\n## Adaptation under drift with the demo's label pattern (${CHECKS} checks × ${BATCH}: ${TRUE_PER_CHECK} true + ${PSEUDO_PER_CHECK} pseudo a check), V1 fine-tuned once; seeds ${seeds.join(', ')}; ${load()}`,
  );
  log(`V1 on clean (2,000): ${pct(evaluateClassifier(v1, clean).accuracy)}`);
  // accuracy[variant][mix] = per-seed held-out accuracy on the mix's last phase
  const results = variants.map(() => mixes.map(() => [] as number[]));
  const cleanAcc = variants.map(() => [] as number[]);
  const before: number[][] = mixes.map(() => []);
  for (const [m, mix] of mixes.entries()) {
    const last = [...mix.schedule].sort((a, b) => a.fromBatch - b.fromBatch).at(-1) as DriftPhase;
    const heldStream = new DriftStream(
      { seed: 4242 + m, batchSize: 3000, schedule: [{ ...last, fromBatch: 0 }], source: heldSource },
      0,
    );
    const heldBatch = heldStream.batch(0);
    const held = {
      ...heldBatch.images,
      labels: heldStream.oracle.truthFor(heldBatch.images.ids ?? []),
      ids: undefined,
    };
    for (const seed of seeds) {
      const stream = new DriftStream({ seed, batchSize: BATCH, schedule: mix.schedule, source: streamSource }, 0);
      v1.setWeights(weights);
      const collected = collect(v1, detector, stream, seed);
      before[m]?.push(evaluateClassifier(v1, held).accuracy);
      log(
        `${mix.name}, seed ${seed}: V1 ${pct(before[m]?.at(-1) ?? NaN)}; pseudo-labels ${collected.pseudo.count} (${pct(collected.pseudoRight / collected.pseudo.count)} right), consistency-filtered ${collected.consistent.count} (${pct(collected.consistentRight / collected.consistent.count)} right); ${load()}`,
      );
      for (const [v, variant] of variants.entries()) {
        if (variant.firstSeedOnly && (seed !== seeds[0] || m > 1)) continue;
        v1.setWeights(weights);
        const t0 = performance.now();
        await fineTuneClassifier(v1, variant.data(collected), train, {
          seed: 3,
          epochs: variant.epochs ?? 4,
          augmentation: variant.augmentation,
        });
        const acc = evaluateClassifier(v1, held).accuracy;
        results[v]?.[m]?.push(acc);
        cleanAcc[v]?.push(evaluateClassifier(v1, clean).accuracy);
        log(`  ${variant.name}: ${pct(acc)} (${((performance.now() - t0) / 1000).toFixed(0)} s, ${load()})`);
      }
    }
  }
  v1.setWeights(weights);

  log(
    '\n| variant | ' +
      mixes.map((m) => m.name).join(' | ') +
      ' | mean | gain over "before" (mean, min–max over mixes × seeds) | clean |',
  );
  log('|---|' + mixes.map(() => '---|').join('') + '---|---|---|');
  log(
    `| V1 (no retraining) | ${before.map((xs) => `${pct(mean(xs))} (${xs.map(pct).join(', ')})`).join(' | ')} | ${pct(mean(before.flat()))} | | |`,
  );
  for (const [v, variant] of variants.entries()) {
    const rows = results[v] ?? [];
    const gains = rows.flatMap((xs, m) => xs.map((x, s) => x - (results[0]?.[m]?.[s] ?? NaN)));
    log(
      `| ${variant.name} | ${rows.map((xs) => (xs.length ? `${pct(mean(xs))} (${xs.map(pct).join(', ')})` : '–')).join(' | ')} | ${pct(mean(rows.flat()))} | ${v === 0 || variant.firstSeedOnly ? '' : `${(100 * mean(gains)).toFixed(1)} pts (${(100 * Math.min(...gains)).toFixed(1)} to ${(100 * Math.max(...gains)).toFixed(1)})`} | ${pct(mean(cleanAcc[v] ?? []))} |`,
    );
  }
  log(load());
  weights.forEach((w) => w.dispose());
}

/** The traffic split in two: the first half feeds the stream, the second the held-out sets (no image in both). */
export function streamAndHeldHalves(traffic: ImageSet): { streamSource: ImageSet; heldSource: ImageSet } {
  const half = Math.floor(traffic.count / 2);
  return {
    streamSource: subset(
      traffic,
      Array.from({ length: half }, (_, i) => i),
    ),
    heldSource: subset(
      traffic,
      Array.from({ length: traffic.count - half }, (_, i) => half + i),
    ),
  };
}
