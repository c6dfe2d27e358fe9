/**
 * The seeded random streams of a LoadGen run: Poisson arrival times (exponential inter-arrivals
 * at the target rate) and the QSL sample each query draws. Both are sequences indexed by query
 * number, so a segment of a long run regenerates exactly the queries it owns by fast-forwarding
 * from query 0 (cheap: a million draws take milliseconds). Pure: no clock, no I/O.
 */

import { Rng } from '../ml/random.js';

/**
 * The project's seeded generator (src/ml/random.ts, sfc32) on a per-purpose stream of a seed, with
 * 53-bit doubles: the QSL's sample draws. (The schedule itself draws from Mt19937, below, as LoadGen does.)
 */
export class SeededRandom {
  private readonly rng: Rng;

  constructor(seed: number, stream = 0) {
    this.rng = new Rng((seed ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0);
  }

  /** Uniform in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const hi = this.rng.nextUint32() >>> 5; // 27 bits
    const lo = this.rng.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextDouble() * n);
  }
}

/** Streams of the seeds, so the schedule and the sample choice never share numbers. */
const SAMPLE_STREAM = 2;

/**
 * The 32-bit Mersenne Twister exactly as C++'s `std::mt19937` (seeded with `init_genrand`, seed
 * taken mod 2^32): the generator MLPerf's LoadGen draws its schedule from (loadgen.cc,
 * GenerateQueries: `std::mt19937 schedule_rng(settings.schedule_rng_seed)`).
 */
export class Mt19937 {
  private readonly mt = new Uint32Array(624);
  private i = 624;

  constructor(seed: number) {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let k = 1; k < 624; k++) {
      const x = (mt[k - 1] as number) ^ ((mt[k - 1] as number) >>> 30);
      mt[k] = (Math.imul(1812433253, x) + k) >>> 0;
    }
  }

  nextUint32(): number {
    const mt = this.mt;
    if (this.i >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = ((mt[k] as number) & 0x80000000) | ((mt[(k + 1) % 624] as number) & 0x7fffffff);
        mt[k] = (mt[(k + 397) % 624] as number) ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.i = 0;
    }
    let y = mt[this.i++] as number;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * libstdc++'s `std::generate_canonical<double, 53>` over this generator: two draws,
   * (g1 + g2·2^32) / 2^64 rounded as a double, and never 1.
   */
  nextCanonical(): number {
    const g1 = this.nextUint32();
    const g2 = this.nextUint32();
    const u = (g1 + g2 * 4294967296) / 18446744073709551616;
    return u >= 1 ? 1 - Number.EPSILON / 2 : u;
  }
}

/**
 * One Server inter-arrival gap in integer nanoseconds as LoadGen 6.x draws it:
 * `duration_cast<nanoseconds>(duration<double>(std::exponential_distribution<>(qps)(rng)))`, where
 * libstdc++'s exponential is −log(1 − canonical) / qps and the cast truncates toward zero.
 */
export function loadgenExponentialGapNs(rng: Mt19937, qps: number): number {
  const seconds = -Math.log(1 - rng.nextCanonical()) / qps;
  return Math.trunc(seconds * 1e9);
}

/**
 * Poisson arrivals: query 0 at 0 ns, then exponential gaps at `qps`. `next()` returns the
 * scheduled offset (integer ns from the start of the run) of the next query.
 *
 * The stream is LoadGen's own (std::mt19937 seeded with scheduleRngSeed, libstdc++'s exponential
 * distribution, gaps truncated to whole ns and summed as integers), so for the same seed and
 * target QPS this schedule is the official LoadGen's, query for query: the same query count and the
 * same "scheduled samples per second" (checked against mlcommons-loadgen 6.0.17 in the benchmark
 * and pinned in the unit tests).
 */
export class PoissonSchedule {
  private readonly rng: Mt19937;
  private t = 0;
  private started = false;
  index = -1;

  constructor(
    readonly seed: number,
    readonly qps: number,
  ) {
    if (!(qps > 0)) throw new Error(`PoissonSchedule: qps must be > 0, got ${qps}`);
    this.rng = new Mt19937(seed);
  }

  next(): number {
    if (this.started) this.t += loadgenExponentialGapNs(this.rng, this.qps);
    this.started = true;
    this.index += 1;
    return this.t;
  }
}

/** Which QSL sample each query uses: uniform with replacement over the loaded samples (performance mode). */
export class SampleChooser {
  private readonly rng: SeededRandom;

  constructor(
    seed: number,
    readonly loadedCount: number,
  ) {
    if (!(loadedCount >= 1)) throw new Error(`SampleChooser: at least one loaded sample is needed, got ${loadedCount}`);
    this.rng = new SeededRandom(seed, SAMPLE_STREAM);
  }

  /** Indices (into the loaded set) of the next query's samples; MultiStream takes contiguous samples. */
  next(samplesPerQuery: number, contiguous: boolean): number[] {
    if (contiguous) {
      const first = this.rng.nextInt(this.loadedCount);
      return Array.from({ length: samplesPerQuery }, (_, k) => (first + k) % this.loadedCount);
    }
    return Array.from({ length: samplesPerQuery }, () => this.rng.nextInt(this.loadedCount));
  }
}

/**
 * The number of queries of a Server run (LoadGen's GenerateQueries): queries are generated while
 * the previous one is scheduled before `minDuration` or fewer than `minQueryCount` exist, so the
 * last query is scheduled at or after minDuration. Capped by maxQueryCount (0 = none).
 */
export function isLastServerQuery(
  index: number,
  scheduledNs: number,
  s: { minDurationMs: number; minQueryCount: number; maxQueryCount: number },
): boolean {
  const count = index + 1;
  if (s.maxQueryCount > 0 && count >= s.maxQueryCount) return true;
  return scheduledNs >= s.minDurationMs * 1e6 && count >= s.minQueryCount;
}

/** Offsets (ns) of the whole Server schedule; for tests and planning (a run generates them lazily). */
export function serverSchedule(s: {
  scheduleRngSeed: number;
  targetQps: number;
  minDurationMs: number;
  minQueryCount: number;
  maxQueryCount: number;
}): Float64Array {
  const schedule = new PoissonSchedule(s.scheduleRngSeed, s.targetQps);
  const out: number[] = [];
  for (;;) {
    const t = schedule.next();
    out.push(t);
    if (isLastServerQuery(out.length - 1, t, s)) break;
  }
  return Float64Array.from(out);
}
