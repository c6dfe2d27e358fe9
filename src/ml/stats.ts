/** Small statistics the detector needs: percentiles, the two-sample KS test, a binomial tail, AUROC. */
import { InvalidInputError } from './errors.js';

/** Linear-interpolated percentile (numpy's default), p in [0, 100]. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) throw new InvalidInputError('percentile of an empty sample');
  const sorted = Float64Array.from(values).sort();
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] ?? 0) + ((sorted[hi] ?? 0) - (sorted[lo] ?? 0)) * (pos - lo);
}

/** Kolmogorov–Smirnov two-sample test: statistic D and the asymptotic p-value (as scipy's 'asymp'). */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): { statistic: number; pValue: number } {
  if (a.length === 0 || b.length === 0) throw new InvalidInputError('KS test needs two non-empty samples');
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i] ?? 0, y[j] ?? 0);
    while (i < x.length && (x[i] ?? 0) <= v) i++;
    while (j < y.length && (y[j] ?? 0) <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  const n = (x.length * y.length) / (x.length + y.length);
  const lambda = (Math.sqrt(n) + 0.12 + 0.11 / Math.sqrt(n)) * d;
  return { statistic: d, pValue: kolmogorovQ(lambda) };
}

/** Q_KS(λ) = 2 Σ (−1)^{k−1} e^{−2k²λ²}. */
function kolmogorovQ(lambda: number): number {
  if (lambda < 1e-3) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = 2 * (k % 2 === 1 ? 1 : -1) * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.min(1, Math.max(0, sum));
}

/** P(X ≥ k) for X ~ Binomial(n, p), summed in log space. */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  const logChoose = (nn: number, kk: number): number => logFactorial(nn) - logFactorial(kk) - logFactorial(nn - kk);
  let total = 0;
  for (let i = k; i <= n; i++) total += Math.exp(logChoose(n, i) + i * Math.log(p) + (n - i) * Math.log1p(-p));
  return Math.min(1, total);
}

const logFactorialCache: number[] = [0];
function logFactorial(n: number): number {
  for (let i = logFactorialCache.length; i <= n; i++)
    logFactorialCache[i] = (logFactorialCache[i - 1] ?? 0) + Math.log(i);
  return logFactorialCache[n] ?? 0;
}

/** Area under the ROC curve of scores, positives vs negatives (ties count half): Mann–Whitney U / (n₊n₋). */
export function auroc(negatives: ArrayLike<number>, positives: ArrayLike<number>): number {
  const all = [
    ...Array.from(negatives, (v) => ({ v, pos: false })),
    ...Array.from(positives, (v) => ({ v, pos: true })),
  ].sort((a, b) => a.v - b.v);
  let rankSumPos = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j]?.v === all[i]?.v) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k]?.pos) rankSumPos += avgRank;
    i = j;
  }
  const np = positives.length;
  const nn = negatives.length;
  return (rankSumPos - (np * (np + 1)) / 2) / (np * nn);
}
