/** MNIST-C image sets: a whole set under one corruption, each image with its own derived seed. */
import type { ImageSet } from './types.js';
import { corruptImage, type CorruptionName } from './corruptions.js';
import { Rng } from './random.js';
import { InvalidInputError } from './errors.js';

const NAME_CODES = new Map<string, number>();
function nameCode(name: string): number {
  let code = NAME_CODES.get(name);
  if (code === undefined) {
    code = 0;
    for (const ch of name) code = (Math.imul(code, 31) + ch.charCodeAt(0)) >>> 0;
    NAME_CODES.set(name, code);
  }
  return code;
}

/** The seed image `index` gets under corruption `name` in a set corrupted with `seed`. */
export function imageSeed(seed: number, name: CorruptionName, index: number): number {
  return Rng.derive(seed, nameCode(name), index).nextUint32();
}

export function corruptImageSet(set: ImageSet, name: CorruptionName, seed: number): ImageSet {
  if (set.height !== 28 || set.width !== 28)
    throw new InvalidInputError(`MNIST-C corruptions need 28×28 images, got ${set.height}×${set.width}`);
  const size = 28 * 28;
  const pixels = new Float32Array(set.pixels.length);
  for (let i = 0; i < set.count; i++) {
    pixels.set(corruptImage(set.pixels.slice(i * size, (i + 1) * size), name, imageSeed(seed, name, i)), i * size);
  }
  return { ...set, pixels, labels: set.labels && Int32Array.from(set.labels), ids: set.ids && [...set.ids] };
}
