/**
 * Production traffic for the MNIST case study: batches of images mixing clean and MNIST-C
 * corrupted digits on a schedule of drift (from which batch, what share, which corruptions).
 * Batch `i` is a pure function of (seed, i), so any batch can be regenerated. True labels never
 * travel with the images: they stay in the LabelOracle, which answers within a label budget,
 * as a human labeller would.
 */
import type { ImageSet } from './types.js';
import { CORRUPTIONS, corruptImage, isCorruptionName, type CorruptionName } from './corruptions.js';
import { Rng } from './random.js';
import { InvalidInputError } from './errors.js';

export interface DriftPhase {
  /** First batch index this phase applies to (phases sorted by it; the last one that started wins). */
  fromBatch: number;
  /** Share of each batch that is corrupted, 0..1. */
  share: number;
  /** Corruptions drawn uniformly for the corrupted images. */
  corruptions: CorruptionName[];
}

export interface DriftStreamOptions {
  seed: number;
  batchSize: number;
  schedule: DriftPhase[];
  /** Where clean digits come from (labels required), e.g. the MNIST test split. */
  source: ImageSet;
}

export interface StreamBatch {
  index: number;
  /** Images with ids `b<batch>-<i>`, no labels. */
  images: ImageSet;
  /** What each image is: 'clean' or the corruption applied (ground truth for evaluating the detector). */
  kinds: (CorruptionName | 'clean')[];
}

export class LabelOracle {
  private readonly truth = new Map<string, number>();
  private usedCount = 0;

  constructor(readonly budget: number) {
    if (!Number.isInteger(budget) || budget < 0)
      throw new InvalidInputError(`label budget must be a non-negative integer, got ${budget}`);
  }

  get used(): number {
    return this.usedCount;
  }

  get remaining(): number {
    return this.budget - this.usedCount;
  }

  /** Called by the stream: remembers the true label of an image it emitted. */
  record(id: string, label: number): void {
    this.truth.set(id, label);
  }

  /**
   * True labels without spending budget: ONLY for persisting the oracle elsewhere (the store-backed
   * oracle) or for measuring accuracy in benchmarks; never for choosing what to label.
   */
  truthFor(ids: readonly string[]): Int32Array {
    return Int32Array.from(ids, (id) => {
      const label = this.truth.get(id);
      if (label === undefined)
        throw new InvalidInputError(`the oracle never saw image ${id}: only images the stream emitted can be labelled`);
      return label;
    });
  }

  /** True labels of `ids`; costs one unit of budget per id; refuses the whole request if over budget. */
  label(ids: readonly string[]): Int32Array {
    if (ids.length > this.remaining) {
      throw new InvalidInputError(
        `label budget exceeded: asked for ${ids.length} labels, ${this.remaining} of ${this.budget} left`,
      );
    }
    const labels = Int32Array.from(ids, (id) => {
      const label = this.truth.get(id);
      if (label === undefined)
        throw new InvalidInputError(`the oracle never saw image ${id}: only images the stream emitted can be labelled`);
      return label;
    });
    this.usedCount += ids.length;
    return labels;
  }
}

export function validateSchedule(schedule: readonly DriftPhase[]): void {
  if (!Array.isArray(schedule) || schedule.length === 0)
    throw new InvalidInputError('drift schedule needs at least one phase');
  schedule.forEach((p, i) => {
    if (!Number.isInteger(p.fromBatch) || p.fromBatch < 0)
      throw new InvalidInputError(`schedule[${i}].fromBatch must be a non-negative integer, got ${p.fromBatch}`);
    if (!(p.share >= 0 && p.share <= 1))
      throw new InvalidInputError(`schedule[${i}].share must be in [0, 1], got ${p.share}`);
    if (p.share > 0 && (!Array.isArray(p.corruptions) || p.corruptions.length === 0))
      throw new InvalidInputError(`schedule[${i}].corruptions must name at least one corruption when share > 0`);
    for (const c of p.corruptions ?? [])
      if (!isCorruptionName(c))
        throw new InvalidInputError(
          `schedule[${i}].corruptions: unknown corruption ${JSON.stringify(c)} (known: ${CORRUPTIONS.join(', ')})`,
        );
  });
}

export class DriftStream {
  readonly oracle: LabelOracle;
  private nextIndex = 0;
  private readonly schedule: DriftPhase[];

  constructor(
    private readonly options: DriftStreamOptions,
    labelBudget: number,
  ) {
    validateSchedule(options.schedule);
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1)
      throw new InvalidInputError(`batchSize must be a positive integer, got ${options.batchSize}`);
    if (!options.source?.labels || options.source.count === 0)
      throw new InvalidInputError('drift stream source must be a non-empty labelled image set');
    this.schedule = [...options.schedule].sort((a, b) => a.fromBatch - b.fromBatch);
    this.oracle = new LabelOracle(labelBudget);
  }

  phaseOf(index: number): DriftPhase {
    let phase: DriftPhase = { fromBatch: 0, share: 0, corruptions: [] };
    for (const p of this.schedule) if (p.fromBatch <= index) phase = p;
    return phase;
  }

  next(): StreamBatch {
    const batch = this.batch(this.nextIndex);
    this.nextIndex += 1;
    return batch;
  }

  /** Batch `index`, deterministic; its labels are handed to the oracle. */
  batch(index: number): StreamBatch {
    const { source, batchSize, seed } = this.options;
    const phase = this.phaseOf(index);
    const rng = Rng.derive(seed, 0x5743, index);
    const size = source.height * source.width;
    const pixels = new Float32Array(batchSize * size);
    const ids: string[] = [];
    const kinds: (CorruptionName | 'clean')[] = [];
    // Exactly round(share × batchSize) corrupted images, at random positions.
    const corrupted = new Set(rng.sampleIndices(batchSize, Math.round(phase.share * batchSize)));
    for (let i = 0; i < batchSize; i++) {
      const src = rng.int(0, source.count - 1);
      const clean = source.pixels.slice(src * size, (src + 1) * size);
      const id = `b${index}-${i}`;
      let kind: CorruptionName | 'clean' = 'clean';
      let image: Float32Array = clean;
      if (corrupted.has(i)) {
        kind = phase.corruptions[rng.int(0, phase.corruptions.length - 1)] as CorruptionName;
        image = corruptImage(clean, kind, rng.nextUint32());
      }
      pixels.set(image, i * size);
      ids.push(id);
      kinds.push(kind);
      this.oracle.record(id, source.labels?.[src] ?? -1);
    }
    return { index, images: { count: batchSize, height: source.height, width: source.width, pixels, ids }, kinds };
  }
}
