/**
 * "Is the candidate better than production?" as a paired test on the same labelled samples,
 * instead of comparing two accuracies with `>`.
 *
 * Both models answer the same n samples. Only the discordant pairs carry information: b samples
 * the candidate gets right and production wrong, c the other way round. Under "no better",
 * b ~ Binomial(b + c, ½), so the one-sided exact McNemar p-value is P(X ≥ b). The rule:
 *
 *   promote  iff  n ≥ minEvaluation  and  p < alpha  (and the difference ≥ margin)
 *   wait     iff  n < minEvaluation  (more labelled evaluation samples are coming)
 *   reject   otherwise
 *
 * The decision carries every number it was taken on (n, both accuracies, b, c, the difference,
 * its one-sided lower confidence bound, p), for the decision log.
 */
import { binomialUpperTail } from './stats.js';
import { InvalidInputError } from './errors.js';

export interface PairedComparison {
  n: number;
  candidateAccuracy: number;
  productionAccuracy: number;
  /** Candidate right, production wrong. */
  candidateOnly: number;
  /** Production right, candidate wrong. */
  productionOnly: number;
  /** candidateAccuracy − productionAccuracy. */
  difference: number;
  /** One-sided (1 − alpha) lower confidence bound of the difference (Wald, paired). */
  lowerBound: number;
  /** One-sided exact McNemar p-value of "candidate not better". */
  pValue: number;
}

export interface PromotionRule {
  /** Fewest paired evaluation samples to decide on; default 50. */
  minEvaluation?: number;
  /** One-sided significance level; default 0.05. */
  alpha?: number;
  /** Smallest accuracy gain worth a promotion; default 0. */
  margin?: number;
}

export type PromotionDecision = 'promote' | 'reject' | 'wait';

export interface PromotionVerdict extends PairedComparison {
  decision: PromotionDecision;
  /** The rule with its defaults filled in. */
  rule: Required<PromotionRule>;
  /** One line a person can read in the decision log. */
  reason: string;
}

/** z of the standard normal for a one-sided level (bisection on the error function; no tables). */
function zOneSided(alpha: number): number {
  const cdf = (z: number) => 0.5 * (1 + erf(z / Math.SQRT2));
  let lo = 0;
  let hi = 10;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (1 - cdf(mid) > alpha) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7).
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

/**
 * The same comparison from the discordant pairs alone: of `n` paired samples, the two models
 * answered `disagreements` differently, `labelled` of those (a uniform random subset) have a true
 * label, and among them the candidate was right `candidateOnly` times, production `productionOnly`
 * times (both can be wrong). Samples where the models agree change neither McNemar's test nor the
 * accuracy difference, so they need no label. The difference is estimated as
 * (disagreements / n) · (b − c) / labelled, its lower bound from the variance of that mean; n stays
 * the number of samples compared (the minimum evaluation size applies to it). Absolute accuracies
 * are unknown here (NaN).
 */
export function compareDiscordant(
  n: number,
  disagreements: number,
  labelled: number,
  candidateOnly: number,
  productionOnly: number,
  alpha = 0.05,
): PairedComparison {
  if (![n, disagreements, labelled, candidateOnly, productionOnly].every((x) => Number.isInteger(x) && x >= 0))
    throw new InvalidInputError('discordant counts must be non-negative integers');
  if (disagreements > n || labelled > disagreements || candidateOnly + productionOnly > labelled)
    throw new InvalidInputError(
      `inconsistent counts: n=${n}, disagreements=${disagreements}, labelled=${labelled}, ${candidateOnly}+${productionOnly} decided`,
    );
  const b = candidateOnly;
  const c = productionOnly;
  const share = n ? disagreements / n : 0;
  const mean = labelled ? (b - c) / labelled : 0;
  const variance = labelled ? ((b + c) / labelled - mean * mean) / labelled : 0;
  const difference = share * mean;
  return {
    n,
    candidateAccuracy: NaN,
    productionAccuracy: NaN,
    candidateOnly: b,
    productionOnly: c,
    difference,
    lowerBound: labelled ? difference - zOneSided(alpha) * share * Math.sqrt(Math.max(variance, 0)) : -Infinity,
    pValue: b + c === 0 ? 1 : binomialUpperTail(b, b + c, 0.5),
  };
}

/** Pairs per-sample correctness of the two models on the same samples. */
export function comparePaired(
  candidateCorrect: ArrayLike<boolean | number>,
  productionCorrect: ArrayLike<boolean | number>,
  alpha = 0.05,
): PairedComparison {
  if (candidateCorrect.length !== productionCorrect.length)
    throw new InvalidInputError(
      `paired comparison needs the same samples: ${candidateCorrect.length} candidate vs ${productionCorrect.length} production answers`,
    );
  const n = candidateCorrect.length;
  let cand = 0;
  let prod = 0;
  let b = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const x = Boolean(candidateCorrect[i]);
    const y = Boolean(productionCorrect[i]);
    if (x) cand += 1;
    if (y) prod += 1;
    if (x && !y) b += 1;
    if (!x && y) c += 1;
  }
  const difference = n ? (b - c) / n : 0;
  const variance = n ? ((b + c) / n - difference * difference) / n : 0;
  return {
    n,
    candidateAccuracy: n ? cand / n : NaN,
    productionAccuracy: n ? prod / n : NaN,
    candidateOnly: b,
    productionOnly: c,
    difference,
    lowerBound: n ? difference - zOneSided(alpha) * Math.sqrt(Math.max(variance, 0)) : -Infinity,
    pValue: b + c === 0 ? 1 : binomialUpperTail(b, b + c, 0.5),
  };
}

export function decidePromotion(comparison: PairedComparison, rule: PromotionRule = {}): PromotionVerdict {
  const full: Required<PromotionRule> = {
    minEvaluation: rule.minEvaluation ?? 50,
    alpha: rule.alpha ?? 0.05,
    margin: rule.margin ?? 0,
  };
  if (!Number.isInteger(full.minEvaluation) || full.minEvaluation < 1)
    throw new InvalidInputError(`minEvaluation must be a positive integer, got ${full.minEvaluation}`);
  if (!(full.alpha > 0 && full.alpha < 1)) throw new InvalidInputError(`alpha must be in (0, 1), got ${full.alpha}`);
  const c = comparison;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const accuracies = Number.isNaN(c.candidateAccuracy)
    ? ''
    : `candidate ${pct(c.candidateAccuracy)} vs production ${pct(c.productionAccuracy)}, `;
  const numbers =
    `n=${c.n}: ${accuracies}` +
    `${c.candidateOnly} fixed / ${c.productionOnly} broken, difference ${(100 * c.difference).toFixed(1)} points ` +
    `(lower bound ${(100 * c.lowerBound).toFixed(1)}), McNemar p=${c.pValue.toPrecision(2)}`;
  let decision: PromotionDecision;
  let why: string;
  if (c.n < full.minEvaluation) {
    decision = 'wait';
    why = `fewer than ${full.minEvaluation} evaluation samples`;
  } else if (c.pValue < full.alpha && c.difference >= full.margin) {
    decision = 'promote';
    why = `better beyond noise (p < ${full.alpha})`;
  } else {
    decision = 'reject';
    why = c.difference > 0 ? `better only by noise (p ≥ ${full.alpha})` : 'not better';
  }
  return { ...c, decision, rule: full, reason: `${decision}: ${why}; ${numbers}` };
}
