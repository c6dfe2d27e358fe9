/**
 * The detector's training recipe against its detection power (`npx tsx bench/ml.ts
 * --detector-recipes`): the bootstrap trains the autoencoder for 1 epoch on the 60,000 MNIST
 * training images at batch 128 (≈ a quarter of V1 + detector's time); cheaper recipes are only
 * worth it if the detector's AUROC (clean traffic vs each of the 15 MNIST-C corruptions, 7,000
 * each, the `features` score the demo uses) holds. Seeds 1 and 2 (SCANFLOW_BENCH_SEEDS), load
 * average beside every row; times compare within one run only.
 */
import { loadavg } from 'node:os';
import { buildAutoencoder, trainAutoencoder } from '../src/ml/autoencoder.js';
import { CORRUPTIONS } from '../src/ml/corruptions.js';
import { DriftDetector } from '../src/ml/drift-detector.js';
import { loadMnist, referenceAndTrafficIndices, subset } from '../src/ml/mnist.js';
import { corruptImageSet } from '../src/ml/mnist-c.js';
import { auroc } from '../src/ml/stats.js';

interface DetectorRecipe {
  name: string;
  images: number;
  batchSize: number;
  epochs: number;
}

const RECIPES: DetectorRecipe[] = [
  { name: 'bootstrap today: 60,000 images, batch 128, 1 epoch', images: 60000, batchSize: 128, epochs: 1 },
  { name: '30,000 images, batch 128, 1 epoch', images: 30000, batchSize: 128, epochs: 1 },
  { name: '60,000 images, batch 256, 1 epoch', images: 60000, batchSize: 256, epochs: 1 },
];

export async function compareDetectorRecipes(log: (line: string) => void): Promise<void> {
  const seeds = (process.env.SCANFLOW_BENCH_SEEDS ?? '1,2').split(',').map(Number);
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  const train = loadMnist('train');
  const test = loadMnist('test');
  const split = referenceAndTrafficIndices(1);
  const reference = subset(test, split.reference);
  const clean = subset(test, split.traffic);
  const corrupted = CORRUPTIONS.map((name) => subset(corruptImageSet(test, name, 0), split.traffic));
  log(
    `\n## The detector's training recipe: AUROC (features score, 15 corruptions × 7,000) and time, seeds ${seeds.join(', ')}`,
  );
  log('| recipe | mean AUROC (per seed) | weakest (mean over seeds) | training s (per seed) | CPU s | load average |');
  log('|---|---|---|---|---|---|');
  for (const recipe of RECIPES) {
    const means: number[] = [];
    const seconds: number[] = [];
    const cpuSeconds: number[] = [];
    const perCorruption = new Array<number>(CORRUPTIONS.length).fill(0);
    for (const seed of seeds) {
      const autoencoder = buildAutoencoder(seed);
      const cpu = process.cpuUsage();
      const r = await trainAutoencoder(
        autoencoder,
        subset(
          train,
          Array.from({ length: recipe.images }, (_, i) => i),
        ),
        {
          epochs: recipe.epochs,
          batchSize: recipe.batchSize,
          seed,
        },
      );
      const used = process.cpuUsage(cpu);
      seconds.push(r.seconds);
      cpuSeconds.push((used.user + used.system) / 1e6);
      const detector = DriftDetector.calibrate(autoencoder, reference, { mode: 'features' });
      const cleanScores = detector.score(clean);
      const each = corrupted.map((set) => auroc(cleanScores, detector.score(set)));
      each.forEach((a, k) => (perCorruption[k] = (perCorruption[k] ?? 0) + a / seeds.length));
      means.push(each.reduce((s, a) => s + a, 0) / each.length);
      autoencoder.dispose();
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const weakest = CORRUPTIONS.map((c, k) => [c, perCorruption[k] ?? NaN] as const)
      .sort((a, b) => a[1] - b[1])
      .slice(0, 3)
      .map(([c, a]) => `${c} ${a.toFixed(3)}`)
      .join(', ');
    log(
      `| ${recipe.name} | **${mean(means).toFixed(3)}** (${means.map((a) => a.toFixed(3)).join(', ')}) | ${weakest} | ${mean(seconds).toFixed(1)} (${seconds.map((s) => s.toFixed(1)).join(', ')}) | ${mean(cpuSeconds).toFixed(1)} | ${load()} |`,
    );
  }
}
