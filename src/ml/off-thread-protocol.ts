/** The messages between off-thread-training.ts and its worker thread (autoencoder-worker.ts). */

/** The worker's workerData: what `buildAutoencoder` and `trainAutoencoder` need. */
export interface AutoencoderJob {
  seed: number;
  learningRate: number;
  epochs: number;
  batchSize: number;
  /** Nice for the worker's own thread (0: unchanged). */
  nice: number;
  count: number;
  height: number;
  width: number;
  /** The images' float32 pixels (a copy, transferred). */
  pixels: ArrayBuffer;
}

export interface TrainedFigures {
  finalLoss: number;
  seconds: number;
  imagesPerSecond: number;
}

export type FromAutoencoderWorker =
  /** The entry module (and TensorFlow with it) loaded: the start-up timeout ends. */
  | { type: 'started' }
  | { type: 'epoch'; epoch: number; loss: number }
  | { type: 'progress' }
  | { type: 'done'; result: TrainedFigures; weights: { shape: number[]; buffer: ArrayBuffer }[] }
  /** Training itself failed (bad input, a TensorFlow error): the caller fails with this message. */
  | { type: 'failed'; message: string; invalidInput: boolean }
  /** The entry module could not be loaded (sent by the bootstrap code): the caller trains in-thread. */
  | { type: 'load-failed'; message: string };
