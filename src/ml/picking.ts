/**
 * Critical-point picking: which flagged samples to send to the labeller, within a label budget.
 *
 * - `kde` (the original Scanflow method): sample among the flagged ones with probability
 *   proportional to a Gaussian KDE of their scores, so it favours the typical anomaly.
 * - `top-score-diverse`: highest scores first, round-robin over the classifier's predicted
 *   classes so the budget is not spent on one kind of mistake.
 * - `least-confidence`: flagged samples where the classifier is least sure of its answer.
 * - `random`: a uniform sample of the flagged ones (control).
 */
import { Rng } from './random.js';
import { InvalidInputError } from './errors.js';

export const PICK_METHODS = ['kde', 'top-score-diverse', 'least-confidence', 'random'] as const;
export type PickMethod = (typeof PICK_METHODS)[number];

export interface PickInput {
  /** Detector scores of the whole batch. */
  scores: ArrayLike<number>;
  /** Batch indices of the flagged samples (candidates). */
  flagged: readonly number[];
  budget: number;
  method: PickMethod;
  seed: number;
  /** Classifier's predicted class and confidence per batch index (needed by the two better methods). */
  predicted?: ArrayLike<number>;
  confidence?: ArrayLike<number>;
}

export function pickCriticalPoints(input: PickInput): number[] {
  const { scores, flagged, method } = input;
  if (!Number.isInteger(input.budget) || input.budget < 0)
    throw new InvalidInputError(`label budget must be a non-negative integer, got ${input.budget}`);
  if (!(PICK_METHODS as readonly string[]).includes(method))
    throw new InvalidInputError(
      `unknown pick method ${JSON.stringify(method)}: expected one of ${PICK_METHODS.join(', ')}`,
    );
  for (const i of flagged)
    if (!Number.isInteger(i) || i < 0 || i >= scores.length)
      throw new InvalidInputError(`flagged index ${i} is outside the batch (0..${scores.length - 1})`);
  const k = Math.min(input.budget, flagged.length);
  if (k === 0) return [];
  const rng = new Rng(input.seed);
  switch (method) {
    case 'random':
      return rng.shuffled(flagged).slice(0, k);
    case 'kde':
      return kdeWeighted(scores, flagged, k, rng);
    case 'top-score-diverse': {
      const predicted = requireArray(input.predicted, scores.length, 'predicted');
      return topScoreDiverse(scores, flagged, k, predicted);
    }
    case 'least-confidence': {
      const confidence = requireArray(input.confidence, scores.length, 'confidence');
      return [...flagged]
        .sort((a, b) => (confidence[a] ?? 0) - (confidence[b] ?? 0) || (scores[b] ?? 0) - (scores[a] ?? 0))
        .slice(0, k);
    }
  }
}

function requireArray(values: ArrayLike<number> | undefined, length: number, name: string): ArrayLike<number> {
  if (!values || values.length !== length)
    throw new InvalidInputError(
      `this pick method needs ${name} for every sample of the batch (${length}), got ${values?.length ?? 'none'}`,
    );
  return values;
}

function kdeWeighted(scores: ArrayLike<number>, flagged: readonly number[], k: number, rng: Rng): number[] {
  const values = flagged.map((i) => scores[i] ?? 0);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1)) || 1;
  const bandwidth = std * values.length ** (-1 / 5); // Scott's rule
  const density = values.map((v) => values.reduce((s, u) => s + Math.exp(-0.5 * ((v - u) / bandwidth) ** 2), 0));
  // Weighted sampling without replacement (Efraimidis–Spirakis keys u^(1/w)).
  const keyed = flagged.map((idx, j) => ({ idx, key: Math.log(rng.next() || 1e-12) / (density[j] || 1e-12) }));
  return keyed
    .sort((a, b) => b.key - a.key)
    .slice(0, k)
    .map((e) => e.idx);
}

function topScoreDiverse(
  scores: ArrayLike<number>,
  flagged: readonly number[],
  k: number,
  predicted: ArrayLike<number>,
): number[] {
  const byClass = new Map<number, number[]>();
  for (const i of [...flagged].sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0))) {
    const c = predicted[i] ?? -1;
    byClass.set(c, [...(byClass.get(c) ?? []), i]);
  }
  const queues = [...byClass.values()];
  const out: number[] = [];
  while (out.length < k) {
    for (const q of queues) {
      const next = q.shift();
      if (next !== undefined && out.length < k) out.push(next);
    }
  }
  return out;
}
