/**
 * The worker thread's side of off-thread-training.ts: builds the detector's autoencoder from the
 * job's seed and learning rate, trains it on the transferred images with `trainAutoencoder`
 * (exactly the in-thread code), reports epochs and every-50-batches progress, and posts back the
 * trained weights. Runs as soon as it is imported inside a Worker (workerData is the job).
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { buildAutoencoder, trainAutoencoder } from './autoencoder.js';
import { InvalidInputError } from './errors.js';
import type { AutoencoderJob, FromAutoencoderWorker } from './off-thread-protocol.js';

const port = parentPort;
if (!port) throw new Error('autoencoder-worker.ts runs only inside a worker thread (off-thread-training.ts starts it)');
const post = (message: FromAutoencoderWorker, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(message, transfer);

/**
 * This thread runs the eager ops, so it gets the training nice as the activity's JavaScript thread
 * does (activities/ml/priority.ts; pid 0 is the calling thread on Linux). TensorFlow's compute
 * threads are the process's `tf_*` threads: the activity lowers them on every progress message.
 */
function lowerThisThread(nice: number): void {
  if (nice === 0 || process.platform !== 'linux') return;
  try {
    if (getPriority(0) < nice) setPriority(0, nice);
  } catch {
    // Refused: training runs as before.
  }
}

async function run(job: AutoencoderJob): Promise<void> {
  post({ type: 'started' });
  lowerThisThread(job.nice);
  try {
    const model = buildAutoencoder(job.seed, job.learningRate);
    const images = { count: job.count, height: job.height, width: job.width, pixels: new Float32Array(job.pixels) };
    const result = await trainAutoencoder(model, images, {
      epochs: job.epochs,
      batchSize: job.batchSize,
      seed: job.seed,
      onEpoch: (epoch, loss) => post({ type: 'epoch', epoch, loss }),
      onProgress: () => post({ type: 'progress' }),
    });
    const weights = model.getWeights().map((w) => ({ shape: w.shape, values: Float32Array.from(w.dataSync()) }));
    model.dispose();
    post(
      { type: 'done', result, weights: weights.map((w) => ({ shape: w.shape, buffer: w.values.buffer })) },
      weights.map((w) => w.values.buffer),
    );
  } catch (err) {
    // A failure of the training itself (bad input, a TensorFlow error): the caller fails with it.
    const error = err instanceof Error ? err : new Error(String(err));
    post({ type: 'failed', message: error.message, invalidInput: error instanceof InvalidInputError });
  }
}

await run(workerData as AutoencoderJob);
