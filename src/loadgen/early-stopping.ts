/**
 * MLPerf's early-stopping criterion (loadgen/early_stopping.cc), recomputed here from its
 * definition with a binomial CDF in log space.
 *
 * With t queries over the latency bound, the run needs n ≥ h + t queries, where h is the smallest
 * number of passing queries such that, if the true share of queries under the bound were only p,
 * seeing at most t over the bound in h + t queries would have probability below 1 − c:
 *     Σ_{x=0..t} C(h+t, x) · p^(h+t−x) · (1−p)^x  <  1 − c        (= BetaRegularized(p, h, t+1))
 * Confidence c = 0.99, tolerance d = 0 (p − d is used for p), as in LoadGen.
 */

export const EARLY_STOPPING_CONFIDENCE = 0.99;
export const EARLY_STOPPING_TOLERANCE = 0;

/** ln P(at most t over-latency queries among h + t) when each passes with probability p. */
function logOdds(h: number, t: number, p: number): number {
  const n = h + t;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  let term = n * lp; // x = 0
  let max = term;
  const terms = [term];
  for (let x = 0; x < t; x++) {
    term += Math.log(n - x) - Math.log(x + 1) + lq - lp;
    terms.push(term);
    if (term > max) max = term;
  }
  let sum = 0;
  for (const v of terms) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

const cache = new Map<string, number>();

/** The smallest h (passing queries) for t over-latency queries at percentile p (LoadGen's MinPassingQueriesFinder). */
export function minPassingQueries(
  t: number,
  p: number,
  d = EARLY_STOPPING_TOLERANCE,
  c = EARLY_STOPPING_CONFIDENCE,
): number {
  if (!Number.isInteger(t) || t < 0) throw new Error(`early stopping: t must be an integer >= 0, got ${t}`);
  const q = p - d;
  if (!(q > 0 && q < 1)) throw new Error(`early stopping: percentile must be in (0, 1), got ${p}`);
  const key = `${q}:${c}:${t}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const limit = Math.log(1 - c);
  const ok = (h: number) => logOdds(h, t, q) < limit;
  let lo = Math.max(1, Math.ceil(Math.log(1 - c) / Math.log(q)) - 1);
  let hi = Math.max(lo + 1, Math.ceil(lo + (t * q) / (1 - q)) + 1);
  while (!ok(hi)) {
    lo = hi;
    hi *= 2;
  }
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) hi = mid;
    else lo = mid + 1;
  }
  cache.set(key, lo);
  return lo;
}

/** Minimum total queries n = h + t for t over-latency queries (the table of the rules). */
export function minQueriesForEarlyStopping(t: number, p: number): number {
  return minPassingQueries(t, p) + t;
}

export interface ServerEarlyStopping {
  met: boolean;
  overLatency: number;
  /** Queries the run would need in all (h + t). */
  requiredQueries: number;
  recommendation: string;
}

/** Server: t = queries over the bound; met when the queries issued reach h + t. */
export function serverEarlyStopping(queriesIssued: number, overLatency: number, p: number): ServerEarlyStopping {
  const h = minPassingQueries(overLatency, p);
  const requiredQueries = h + overLatency;
  if (queriesIssued >= requiredQueries)
    return { met: true, overLatency, requiredQueries, recommendation: ' * Run successful.' };
  return {
    met: false,
    overLatency,
    requiredQueries,
    recommendation:
      ` * Run unsuccessful.\n * Processed ${queriesIssued} queries.\n` +
      ` * Would need to run at least ${requiredQueries - queriesIssued} more queries,\n` +
      ` with the run being successful if every additional\n query were under latency.`,
  };
}

export interface PercentileEstimate {
  met: boolean;
  /** Highest-latency queries discarded + 1 (LoadGen's t); the estimate is sorted[n − t]. */
  t: number;
  minQueries: number;
  estimateNs?: number;
  recommendation: string;
}

/**
 * SingleStream / MultiStream: the early-stopping estimate of the p-th percentile latency from n
 * sorted latencies: the largest t with n ≥ h(t) + t (at least t = 1), estimate = sorted[n − t].
 */
export function percentileEstimate(sortedNs: ArrayLike<number>, p: number): PercentileEstimate {
  const n = sortedNs.length;
  const hMin = minPassingQueries(1, p);
  if (n < hMin + 1)
    return {
      met: false,
      t: 0,
      minQueries: hMin + 1,
      recommendation: ` * Only processed ${n} queries.\n * Need to process at least ${hMin + 1} queries for early stopping.`,
    };
  // h(t) + t grows with t: binary search for the largest t that still fits in n.
  let lo = 1;
  let hi = 2;
  while (minPassingQueries(hi, p) + hi <= n) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (minPassingQueries(mid, p) + mid <= n) lo = mid;
    else hi = mid;
  }
  const t = lo;
  const estimateNs = sortedNs[n - t] as number;
  return {
    met: true,
    t,
    minQueries: hMin + 1,
    estimateNs,
    recommendation:
      ` * Processed at least ${hMin + 1} queries (${n}).\n * Would discard ${t - 1} highest latency queries.\n` +
      ` * Early stopping ${Math.round(p * 100)}th percentile estimate: ${estimateNs}`,
  };
}
