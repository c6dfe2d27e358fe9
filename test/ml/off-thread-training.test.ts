import { beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { buildAutoencoder, reconstructionScores, trainAutoencoder } from '../../src/ml/autoencoder.js';
import { InvalidInputError } from '../../src/ml/errors.js';
import { liveTrainingWorkers, trainAutoencoderOffThread } from '../../src/ml/off-thread-training.js';
import { loadMnist, referenceAndTraffic } from '../../src/ml/mnist.js';
import type { ImageSet } from '../../src/ml/types.js';

// 3,200 images, batch 64, 2 epochs: 100 batches, so two every-50-batches progress messages.
const SETTINGS = { epochs: 2, batchSize: 64, seed: 3 };
const LEARNING_RATE = 1.0;

/** Mean per-image reconstruction error on clean digits the training never saw. */
const heldOutLoss = (model: ReturnType<typeof buildAutoencoder>, images: ImageSet): number => {
  const scores = reconstructionScores(model, images);
  return scores.reduce((a, b) => a + b, 0) / scores.length;
};

/** Nice of every thread of this process, by name (Linux; empty elsewhere). */
function threads(): { comm: string; nice: number }[] {
  if (process.platform !== 'linux') return [];
  return readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return [{ comm: readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(), nice: Number(fields[16]) }];
    } catch {
      return []; // a thread that ended meanwhile
    }
  });
}

// An unusual nice, so that a thread with it is the worker's own JS thread (in-process training
// elsewhere lowers threads to SCANFLOW_TRAINING_NICE, 10 by default).
const WORKER_NICE = 13;
const jsThreadsAt = (nice: number) => threads().filter((t) => t.nice === nice && !t.comm.startsWith('tf_')).length;

describe('autoencoder training in a worker thread', () => {
  const train = loadMnist('train', 3200);
  const { reference: heldOut } = referenceAndTraffic(1, 1000);
  let inThreadLoss: number;
  let inThreadWeights: Float32Array[];

  beforeAll(async () => {
    const model = buildAutoencoder(SETTINGS.seed, LEARNING_RATE);
    await trainAutoencoder(model, train, SETTINGS);
    inThreadLoss = heldOutLoss(model, heldOut);
    inThreadWeights = model.getWeights().map((w) => w.dataSync() as Float32Array);
  });

  it('trains the same autoencoder as in-thread training, reports progress, lowers its thread and leaves none running', async () => {
    const model = buildAutoencoder(SETTINGS.seed, LEARNING_RATE);
    const untrained = heldOutLoss(model, heldOut);
    const epochs: number[] = [];
    let progress = 0;
    let loweredDuringTraining = 0;
    const before = liveTrainingWorkers();
    const pixelsBefore = train.pixels.slice(0, 784 * 10);
    const result = await trainAutoencoderOffThread(model, train, {
      ...SETTINGS,
      learningRate: LEARNING_RATE,
      nice: WORKER_NICE,
      onEpoch: (epoch) => void epochs.push(epoch),
      onProgress: () => {
        progress += 1;
        loweredDuringTraining = Math.max(loweredDuringTraining, jsThreadsAt(WORKER_NICE));
        expect(liveTrainingWorkers()).toBe(before + 1);
      },
    });
    expect(result.thread).toBe('worker');
    expect(epochs).toEqual([0, 1]);
    expect(progress).toBe(2);
    expect(Number.isFinite(result.finalLoss)).toBe(true);
    expect(result.seconds).toBeGreaterThan(0);
    // The caller's data set is left as it was (the worker got a copy).
    expect(train.pixels.length).toBe(3200 * 784);
    expect(train.pixels.slice(0, 784 * 10)).toEqual(pixelsBefore);

    const offThreadLoss = heldOutLoss(model, heldOut);
    expect(offThreadLoss).toBeLessThan(untrained * 0.9);
    expect(Math.abs(offThreadLoss - inThreadLoss) / inThreadLoss).toBeLessThan(0.1);
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    const maxDifference = Math.max(
      ...weights.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - (inThreadWeights[i]?.[j] ?? NaN))))),
    );
    // Same seed, same data, same ops: the same weights, bit for bit (measured: difference 0).
    expect(maxDifference).toBe(0);
    console.log(
      `held-out reconstruction error: in-thread ${inThreadLoss.toFixed(4)}, off-thread ${offThreadLoss.toFixed(4)}, ` +
        `untrained ${untrained.toFixed(4)}; largest weight difference ${maxDifference}`,
    );

    if (process.platform === 'linux') {
      expect(loweredDuringTraining).toBe(1);
      expect(jsThreadsAt(WORKER_NICE)).toBe(0);
    }
    expect(liveTrainingWorkers()).toBe(before);
  });

  it('fails with the training error when the input is bad (no fallback), and leaves no worker running', async () => {
    const before = liveTrainingWorkers();
    const model = buildAutoencoder(1, LEARNING_RATE);
    // Found by the worker's training loop: the error crosses the thread with its message and kind.
    const epochs = trainAutoencoderOffThread(model, train, { ...SETTINGS, epochs: 0, learningRate: LEARNING_RATE });
    await expect(epochs).rejects.toThrow(InvalidInputError);
    await expect(epochs).rejects.toThrow(/epochs must be a positive integer, got 0/);
    // Found before a worker starts.
    const short: ImageSet = { count: 2, height: 28, width: 28, pixels: new Float32Array(784) };
    await expect(trainAutoencoderOffThread(model, short, { ...SETTINGS, learningRate: LEARNING_RATE })).rejects.toThrow(
      /autoencoder training data.pixels has 784 values, expected count×784 = 1568/,
    );
    expect(liveTrainingWorkers()).toBe(before);
  });

  /**
   * Trains with a faulty worker entry and checks the fallback: in the calling thread, one warning
   * matching `warning`, the same model as in-thread training (same seed), no worker left.
   */
  async function expectFallback(entry: URL, warning: RegExp, options: { startTimeoutMs?: number } = {}) {
    const warnings: string[] = [];
    const model = buildAutoencoder(SETTINGS.seed, LEARNING_RATE);
    const result = await trainAutoencoderOffThread(model, train, {
      ...SETTINGS,
      ...options,
      learningRate: LEARNING_RATE,
      entry,
      onWarning: (m) => void warnings.push(m),
    });
    expect(result.thread).toBe('main');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(warning);
    // The fallback is the in-thread training itself: the same seed gives the same model.
    expect(heldOutLoss(model, heldOut)).toBeCloseTo(inThreadLoss, 6);
    expect(liveTrainingWorkers()).toBe(0);
  }

  it('falls back to in-thread training with a warning when the worker cannot load its entry (injected fault)', async () => {
    // Injected fault: the entry points at a file that does not exist, as a worker whose code
    // cannot load (a broken install, a missing tsx) would behave.
    await expectFallback(
      new URL('./no-such-autoencoder-worker.ts', import.meta.url),
      /detector training runs in the calling thread: could not load .*no-such-autoencoder-worker\.ts/,
    );
  });

  it('falls back to in-thread training when the worker loads but never starts within its start-up timeout (injected fault)', async () => {
    // Injected fault: an entry that loads and then stays silent, as a worker hung while loading.
    await expectFallback(
      new URL('./fixtures/silent-autoencoder-worker.ts', import.meta.url),
      /detector training runs in the calling thread: the worker thread did not load .*silent-autoencoder-worker\.ts within 3000 ms/,
      { startTimeoutMs: 3000 },
    );
  });

  it('terminates the worker when its signal aborts (an activity cancelled) and rejects with the reason', async () => {
    const controller = new AbortController();
    const model = buildAutoencoder(SETTINGS.seed, LEARNING_RATE);
    const reason = new Error('activity cancelled');
    const training = trainAutoencoderOffThread(model, loadMnist('train', 12_800), {
      ...SETTINGS,
      epochs: 5,
      learningRate: LEARNING_RATE,
      signal: controller.signal,
      onProgress: () => controller.abort(reason),
    });
    await expect(training).rejects.toBe(reason);
    expect(liveTrainingWorkers()).toBe(0);
  });
});
