/**
 * Trains the drift detector's autoencoder in a worker thread. tfjs-node runs each op synchronously
 * on the JavaScript thread that issues it, so two trainings in one thread take turns: with the
 * detector in a thread of its own, the bootstrap trains V1 (main thread, ~1.1 cores busy) and the
 * detector (the second core) at the same time.
 *
 * The worker (autoencoder-worker.ts) builds the same model (`buildAutoencoder(seed, lr)`) and runs
 * the same `trainAutoencoder`; its trained weights are set into the caller's model, so whatever the
 * caller does next (calibration, registration, saving) is unchanged.
 *
 * The thread is a convenience, never a reason to fail: when the worker cannot start, cannot load
 * its code (or takes longer than `startTimeoutMs` to), or dies before it finishes, training runs
 * in the calling thread instead (a warning says why). A failure of the training itself (bad
 * input, a TensorFlow error) fails the call with its message, as in-thread training would. The
 * worker is terminated when the call ends, whatever the outcome, and at once when `signal` aborts
 * (an activity's cancellation).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { LayersModel } from '@tensorflow/tfjs-node';
import { trainAutoencoder, type AutoencoderTrainOptions } from './autoencoder.js';
import { InvalidInputError } from './errors.js';
import type { AutoencoderJob, FromAutoencoderWorker, TrainedFigures } from './off-thread-protocol.js';
import { checkImageSet } from './tensors.js';
import { tensorflow } from './tf.js';
import type { ImageSet } from './types.js';

export interface OffThreadTrainOptions extends AutoencoderTrainOptions {
  /** The learning rate `model` was built with (the worker builds its own copy of the model). */
  learningRate: number;
  /** Nice for the worker's thread, as the caller's training thread gets (0: unchanged). */
  nice?: number;
  /** Aborting terminates the worker and rejects with the signal's reason (no in-thread fallback). */
  signal?: AbortSignal;
  /** Where the fallback's warning goes; default console.warn. */
  onWarning?: (message: string) => void;
  /**
   * How long the worker may take to load its code (tsx, TensorFlow) before training falls back to
   * the calling thread; default 120 s (a few seconds on a quiet machine). A worker that hangs while
   * loading would otherwise hold the call until the activity's heartbeat timeout, and again on
   * every retry.
   */
  startTimeoutMs?: number;
  /**
   * The worker's entry module; default autoencoder-worker.ts (.js when built). Tests point it at a
   * missing file to exercise the fallback.
   */
  entry?: URL;
}

export interface OffThreadResult extends TrainedFigures {
  /** Where the training ran: 'worker', or 'main' after a fallback. */
  thread: 'worker' | 'main';
}

/** Worker threads started here that have not exited yet (Node lists no Worker in getActiveResourcesInfo). */
let live = 0;
export const liveTrainingWorkers = (): number => live;

const DEFAULT_START_TIMEOUT_MS = 120_000;

/** The worker thread could not do the job (start, load, or it died): train in-thread instead. */
class WorkerUnavailable extends Error {}

/**
 * Trains `model` (built by `buildAutoencoder(options.seed, options.learningRate)`) on `clean` in a
 * worker thread and sets the trained weights into it; falls back to the calling thread when the
 * worker is unavailable.
 */
export async function trainAutoencoderOffThread(
  model: LayersModel,
  clean: ImageSet,
  options: OffThreadTrainOptions,
): Promise<OffThreadResult> {
  checkImageSet(clean, 'autoencoder training data');
  const job: AutoencoderJob = {
    seed: options.seed,
    learningRate: options.learningRate,
    epochs: options.epochs,
    batchSize: options.batchSize ?? 128,
    nice: options.nice ?? 0,
    count: clean.count,
    height: clean.height,
    width: clean.width,
    // A copy, transferred: the caller's array may be a cached data set others still read.
    pixels: clean.pixels.slice().buffer,
  };
  try {
    const done = await trainInWorker(job, options.entry ?? defaultEntry(), options);
    const tf = tensorflow();
    tf.tidy(() => model.setWeights(done.weights.map((w) => tf.tensor(new Float32Array(w.buffer), w.shape))));
    return { ...done.result, thread: 'worker' };
  } catch (err) {
    if (!(err instanceof WorkerUnavailable)) throw err;
    (options.onWarning ?? console.warn)(`detector training runs in the calling thread: ${err.message}`);
    return { ...(await trainAutoencoder(model, clean, options)), thread: 'main' };
  }
}

/** The entry next to this module: .ts when running from sources (tsx, jest), .js when built. */
function defaultEntry(): URL {
  const fromSources = new URL(import.meta.url).pathname.endsWith('.ts');
  return new URL(fromSources ? './autoencoder-worker.ts' : './autoencoder-worker.js', import.meta.url);
}

/**
 * The worker's first code (a CommonJS script): a worker is a fresh isolate that neither tsx's
 * hooks of the main thread nor jest's transform reach, so a TypeScript entry is loaded through
 * tsx's `tsImport`, which registers its loader in this thread. A load failure is posted back, so
 * the caller falls back instead of waiting.
 */
function bootstrapSource(entry: URL): string {
  const href = JSON.stringify(entry.href);
  const load = entry.pathname.endsWith('.ts')
    ? `require(${JSON.stringify(createRequire(import.meta.url).resolve('tsx/esm/api'))}).tsImport(${href}, ${href})`
    : `import(${href})`;
  return [
    `const { parentPort } = require('node:worker_threads');`,
    `${load}.catch((err) => parentPort.postMessage({ type: 'load-failed', message: String((err && err.message) || err) }));`,
  ].join('\n');
}

interface Done {
  result: TrainedFigures;
  weights: { shape: number[]; buffer: ArrayBuffer }[];
}

async function trainInWorker(job: AutoencoderJob, entry: URL, options: OffThreadTrainOptions): Promise<Done> {
  let worker: Worker;
  try {
    worker = new Worker(bootstrapSource(entry), { eval: true, workerData: job, transferList: [job.pixels] });
  } catch (err) {
    throw new WorkerUnavailable(`the worker thread did not start (${(err as Error).message})`);
  }
  live += 1;
  worker.once('exit', () => (live -= 1));
  const { signal } = options;
  let onAbort: (() => void) | undefined;
  let startTimer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await new Promise<Done>((resolve, reject) => {
      const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
      startTimer = setTimeout(
        () =>
          reject(new WorkerUnavailable(`the worker thread did not load ${entry.pathname} within ${startTimeoutMs} ms`)),
        startTimeoutMs,
      );
      // A callback's own failure (e.g. a heartbeat refused) fails the call, as it would in-thread.
      const call = (f: () => void | Promise<void>): void => {
        try {
          Promise.resolve(f()).catch(reject);
        } catch (err) {
          reject(err);
        }
      };
      worker.on('message', (m: FromAutoencoderWorker) => {
        clearTimeout(startTimer);
        if (m.type === 'started') return;
        if (m.type === 'epoch') call(() => options.onEpoch?.(m.epoch, m.loss));
        else if (m.type === 'progress') call(() => options.onProgress?.());
        else if (m.type === 'done') resolve({ result: m.result, weights: m.weights });
        else if (m.type === 'failed') reject(m.invalidInput ? new InvalidInputError(m.message) : new Error(m.message));
        else reject(new WorkerUnavailable(`could not load ${entry.pathname}: ${m.message}`));
      });
      worker.on('error', (err) => reject(new WorkerUnavailable(`the worker thread failed: ${err.message}`)));
      worker.on('exit', (code) =>
        reject(new WorkerUnavailable(`the worker thread exited (code ${code}) before it finished`)),
      );
      if (signal) {
        onAbort = () => reject(signal.reason);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  } finally {
    clearTimeout(startTimer);
    if (signal && onAbort) signal.removeEventListener('abort', onAbort);
    await worker.terminate();
  }
}
