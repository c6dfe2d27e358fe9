/**
 * The one place Scanflow loads TensorFlow.js. It insists on the native backend (libtensorflow
 * through @tensorflow/tfjs-node): the pure-JS fallback trains convolutions about 200x slower,
 * which would silently turn a minute of retraining into hours.
 */
import { createRequire } from 'node:module';
import type * as TF from '@tensorflow/tfjs-node';
import { installFastKernels } from './fast-kernels.js';

export type Tf = typeof TF;

let loaded: Tf | undefined;

export function tensorflow(): Tf {
  if (loaded) return loaded;
  // Quiet TensorFlow's C++ start-up banner unless the user asked for its logs.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const require = createRequire(import.meta.url);
  let tf: Tf;
  try {
    tf = require('@tensorflow/tfjs-node') as Tf;
  } catch (err) {
    throw new Error(
      `native TensorFlow for @tensorflow/tfjs-node is not provisioned (${(err as Error).message.split('\n')[0]}): ` +
        `run 'npm run provision' (or 'bash scripts/provision tensorflow') after 'npm ci'`,
    );
  }
  if (tf.getBackend() !== 'tensorflow') {
    throw new Error(
      `TensorFlow.js backend is '${tf.getBackend()}', expected the native 'tensorflow' backend: run 'npm run provision'`,
    );
  }
  // SCANFLOW_TF_FAST_KERNELS=0 keeps tfjs's own kernels and gradients (to compare, or to rule them out).
  if (process.env.SCANFLOW_TF_FAST_KERNELS !== '0') installFastKernels(tf);
  loaded = tf;
  return tf;
}

/** Version of the libtensorflow the native binding runs on (e.g. 2.21.0). */
export function libtensorflowVersion(): string {
  const backend = tensorflow().backend() as unknown as { binding?: { TF_Version?: string } };
  return backend.binding?.TF_Version ?? 'unknown';
}
