/** ImageSet ↔ tensors, with the checks that turn a wrong shape or dtype into a clear error. */
import type { Tensor4D } from '@tensorflow/tfjs-node';
import type { ImageSet } from './types.js';
import { tensorflow } from './tf.js';
import { InvalidInputError } from './errors.js';

export function checkImageSet(set: ImageSet, what = 'images'): void {
  if (!set || typeof set !== 'object') throw new InvalidInputError(`${what} must be an image set object`);
  if (set.height !== 28 || set.width !== 28)
    throw new InvalidInputError(`${what} must be 28×28 images, got ${set.height}×${set.width}`);
  if (!(set.pixels instanceof Float32Array)) {
    throw new InvalidInputError(
      `${what}.pixels must be a Float32Array of values in [0,1], got ${(set.pixels as object)?.constructor?.name ?? typeof set.pixels}`,
    );
  }
  if (!Number.isInteger(set.count) || set.count < 1)
    throw new InvalidInputError(`${what} is empty (count ${set.count}): need at least one image`);
  if (set.pixels.length !== set.count * 784)
    throw new InvalidInputError(
      `${what}.pixels has ${set.pixels.length} values, expected count×784 = ${set.count * 784}`,
    );
  if (set.labels && set.labels.length !== set.count)
    throw new InvalidInputError(`${what}.labels has ${set.labels.length} entries for ${set.count} images`);
}

/** [n, 28, 28, 1] float32 tensor (caller disposes). */
export function imagesToTensor(set: ImageSet, what?: string): Tensor4D {
  checkImageSet(set, what);
  return tensorflow().tensor4d(set.pixels, [set.count, 28, 28, 1], 'float32');
}

export function requireLabels(set: ImageSet, what = 'images'): Int32Array {
  if (!set.labels) throw new InvalidInputError(`${what} has no labels: training and evaluation need true labels`);
  for (const l of set.labels)
    if (!Number.isInteger(l) || l < 0 || l > 9) throw new InvalidInputError(`${what} has a label ${l} outside 0..9`);
  return set.labels;
}
