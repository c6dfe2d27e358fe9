/**
 * Query sample libraries of images: the MNIST test set, or any image set in the knowledge base,
 * read once; `performanceSampleCount` (default 1,024, as MLPerf's image benchmarks) bounds what a
 * performance run loads. A synthetic QSL (no data) serves SUTs that ignore the input.
 */
import type { QuerySampleLibrary } from './sut.js';

/** The image set shape the rest of Scanflow uses: count × height × width floats in [0, 1]. */
export interface QslImages {
  count: number;
  height: number;
  width: number;
  pixels: Float32Array;
  labels?: Int32Array;
}

export const DEFAULT_PERFORMANCE_SAMPLE_COUNT = 1024;

export class ImageQsl implements QuerySampleLibrary, PixelSource {
  readonly totalSampleCount: number;
  readonly performanceSampleCount: number;
  private readonly loaded = new Set<number>();
  readonly sampleSize: number;

  constructor(
    readonly name: string,
    readonly images: QslImages,
    performanceSampleCount = DEFAULT_PERFORMANCE_SAMPLE_COUNT,
  ) {
    this.totalSampleCount = images.count;
    this.sampleSize = images.height * images.width;
    this.performanceSampleCount = Math.min(images.count, performanceSampleCount);
    if (images.count < 1) throw new Error(`QSL ${name} has no samples`);
  }

  async loadSamplesToRam(indices: readonly number[]): Promise<void> {
    for (const i of indices) {
      if (!(i >= 0 && i < this.totalSampleCount)) throw new Error(`QSL ${this.name}: no sample ${i}`);
      this.loaded.add(i);
    }
  }

  async unloadSamplesFromRam(indices: readonly number[]): Promise<void> {
    for (const i of indices) this.loaded.delete(i);
  }

  isLoaded(index: number): boolean {
    return this.loaded.has(index);
  }

  /** The pixels of one sample (a view, no copy). */
  pixels(index: number): Float32Array {
    return this.images.pixels.subarray(index * this.sampleSize, (index + 1) * this.sampleSize);
  }

  label(index: number): number | undefined {
    return this.images.labels?.[index];
  }
}

/** Where a SUT reads a sample's input. */
export interface PixelSource {
  pixels(index: number): Float32Array;
}

/** Samples with no data (every one a blank 28×28 image), for SUTs that ignore their input (fixed-delay, null). */
export class SyntheticQsl implements QuerySampleLibrary, PixelSource {
  readonly name = 'synthetic';
  private readonly blank = new Float32Array(28 * 28);
  pixels(): Float32Array {
    return this.blank;
  }
  constructor(
    readonly totalSampleCount = 1024,
    readonly performanceSampleCount = totalSampleCount,
  ) {}
  async loadSamplesToRam(): Promise<void> {}
  async unloadSamplesFromRam(): Promise<void> {}
}
