/**
 * Smooth weighted round-robin (the nginx algorithm): deterministic, and every window of
 * sum(weights) picks hits each name exactly its weight times, evenly interleaved, so a 90/10
 * split is 90/10 over any 100 requests instead of only on average.
 */
export class WeightedChoice {
  private current = new Map<string, number>();

  constructor(private weights: Map<string, number>) {}

  setWeights(weights: Map<string, number>): void {
    this.weights = weights;
    this.current = new Map();
  }

  /** The next name among those `eligible` accepts (weights of the others are ignored this turn). */
  next(eligible: (name: string) => boolean = () => true): string | undefined {
    let total = 0;
    let best: string | undefined;
    let bestValue = -Infinity;
    for (const [name, weight] of this.weights) {
      if (weight <= 0 || !eligible(name)) continue;
      const value = (this.current.get(name) ?? 0) + weight;
      this.current.set(name, value);
      total += weight;
      if (value > bestValue) {
        bestValue = value;
        best = name;
      }
    }
    if (best !== undefined) this.current.set(best, bestValue - total);
    return best;
  }
}
