/** Latency statistics the LoadGen way: no interpolation, the percentile is sorted[floor(n·p)]. Pure. */

/** LoadGen's percentile: element floor(n·p) of the ascending latencies (the last one when that index is n). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  return sorted[Math.min(n - 1, Math.floor(n * p))] as number;
}

/** The percentiles mlperf_log_summary.txt prints. */
export const SUMMARY_PERCENTILES = [0.5, 0.9, 0.95, 0.97, 0.99, 0.999] as const;

export interface LatencyStats {
  count: number;
  minNs: number;
  maxNs: number;
  /** Integer mean, as LoadGen prints it. */
  meanNs: number;
  /** Keyed by the percentile as LoadGen writes it: "50.00", "90.00", …, "99.90". */
  percentilesNs: Record<string, number>;
}

export function percentileLabel(p: number): string {
  return (p * 100).toFixed(2);
}

/** Sorts a copy (Float64Array sort is numeric) and summarises it. */
export function latencyStats(latenciesNs: ArrayLike<number>): { stats: LatencyStats; sorted: Float64Array } {
  const sorted = Float64Array.from(latenciesNs).sort();
  const n = sorted.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i] as number;
  const percentilesNs: Record<string, number> = {};
  for (const p of SUMMARY_PERCENTILES) percentilesNs[percentileLabel(p)] = n ? percentile(sorted, p) : 0;
  return {
    sorted,
    stats: {
      count: n,
      minNs: n ? (sorted[0] as number) : 0,
      maxNs: n ? (sorted[n - 1] as number) : 0,
      meanNs: n ? Math.floor(sum / n) : 0,
      percentilesNs,
    },
  };
}
