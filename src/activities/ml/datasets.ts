/**
 * Dataset references activities accept instead of tensors (Temporal payloads stay small):
 * - `mnist:train`, `mnist:test` — the original splits (optionally `…:<limit>`, first N images);
 * - `mnist-c:<corruption>:test[:<limit>]` — the test split under one MNIST-C corruption (seed 0);
 * - `case-study:reference`, `case-study:traffic` — the seeded random split of the test set the
 *   detector calibrates on / the traffic generator draws clean digits from (see referenceAndTraffic);
 * - anything else — a store key of an image set written with putImageSet.
 */
import { getImageSet } from '../../knowledge/image-set.js';
import type { KnowledgeStore } from '../../knowledge/types.js';
import type { ImageSet } from '../../ml/types.js';
import { CORRUPTIONS, isCorruptionName } from '../../ml/corruptions.js';
import { loadMnist, referenceAndTraffic, type MnistSplit } from '../../ml/mnist.js';
import { corruptImageSet } from '../../ml/mnist-c.js';
import { InvalidInputError } from '../../ml/errors.js';

/** Fixed so every worker agrees on which test digits are reference and which are traffic. */
export const CASE_STUDY_SPLIT_SEED = 1;

export async function resolveDataset(store: KnowledgeStore, ref: string): Promise<ImageSet> {
  if (typeof ref !== 'string' || ref.length === 0)
    throw new InvalidInputError(`dataset reference must be a non-empty string, got ${JSON.stringify(ref)}`);
  const parts = ref.split(':');
  if (parts[0] === 'mnist') {
    const split = parts[1];
    if (split !== 'train' && split !== 'test')
      throw new InvalidInputError(`dataset ${ref}: split must be 'train' or 'test'`);
    return loadMnist(split as MnistSplit, parseLimit(ref, parts[2]));
  }
  if (parts[0] === 'case-study') {
    const { reference, traffic } = referenceAndTraffic(CASE_STUDY_SPLIT_SEED);
    if (parts[1] === 'reference') return reference;
    if (parts[1] === 'traffic') return traffic;
    throw new InvalidInputError(`dataset ${ref}: expected case-study:reference or case-study:traffic`);
  }
  if (parts[0] === 'mnist-c') {
    const name = parts[1] ?? '';
    if (!isCorruptionName(name))
      throw new InvalidInputError(
        `dataset ${ref}: unknown corruption ${JSON.stringify(name)} (known: ${CORRUPTIONS.join(', ')})`,
      );
    if (parts[2] !== 'test')
      throw new InvalidInputError(`dataset ${ref}: MNIST-C references use the test split: mnist-c:${name}:test`);
    return corruptImageSet(loadMnist('test', parseLimit(ref, parts[3])), name, 0);
  }
  return getImageSet(store, ref);
}

function parseLimit(ref: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidInputError(`dataset ${ref}: limit must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}
