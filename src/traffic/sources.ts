/**
 * What the traffic client replays: a sequence of image sets (each split into requests). Adapters
 * for a fixed image set (looped) and for the drifting MNIST-C stream of the case study.
 */
import { getImageSet } from '../knowledge/image-set.js';
import type { KnowledgeStore } from '../knowledge/types.js';
import type { ImageSet } from '../ml/types.js';
import type { DriftStream, StreamBatch } from '../ml/drift-stream.js';

export interface ImageSource {
  /** The next images to send, or undefined when the source is exhausted. */
  next(): ImageSet | undefined | Promise<ImageSet | undefined>;
}

/** Replays `set` over and over (ids get a round suffix so every sent image has a unique reference). */
export function loopingSource(set: ImageSet, rounds = Infinity): ImageSource {
  if (set.count === 0) throw new Error('loopingSource: the image set is empty');
  let round = 0;
  return {
    next() {
      if (round >= rounds) return undefined;
      round += 1;
      const ids = Array.from({ length: set.count }, (_, i) => `${set.ids?.[i] ?? `img-${i}`}-r${round}`);
      return { ...set, ids };
    },
  };
}

/** Batches of the drifting stream, `batches` of them (or forever); `onBatch` sees each (e.g. to count per interval). */
export function driftStreamSource(
  stream: DriftStream,
  batches = Infinity,
  onBatch?: (batch: StreamBatch) => void,
): ImageSource {
  let sent = 0;
  return {
    next() {
      if (sent >= batches) return undefined;
      sent += 1;
      const batch = stream.next();
      onBatch?.(batch);
      return batch.images;
    },
  };
}

/** Image sets stored in the knowledge base (e.g. by the generateTrafficBatch activity), in order, once each. */
export function storedImageSetsSource(store: KnowledgeStore, keys: readonly string[]): ImageSource {
  let at = 0;
  return {
    async next() {
      const key = keys[at];
      if (key === undefined) return undefined;
      at += 1;
      return getImageSet(store, key);
    },
  };
}
