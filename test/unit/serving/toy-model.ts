/** A pure-JS stand-in for the CNN (no TensorFlow): deterministic, cheap, finite for finite input. */
import type { ModelSource } from '../../../src/serving/model-source.js';
import type { ServableModel } from '../../../src/serving/servable-model.js';

/** Class k's score is the sum of exp(pixel) over every tenth pixel from k, normalised; `delayMs` per call. */
export function toyModel(version: string, delayMs = 1): ServableModel {
  return {
    version,
    async predict(images, count) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const probabilities = new Float32Array(count * 10);
      const labels = new Int32Array(count);
      for (let row = 0; row < count; row += 1) {
        const scores = new Float64Array(10);
        for (let i = 0; i < 784; i += 1)
          scores[i % 10]! += Math.exp(images[row * 784 + i]! + (Number(version) || 0) * (i % 3));
        let total = 0;
        for (const s of scores) total += s;
        let best = 0;
        for (let k = 0; k < 10; k += 1) {
          probabilities[row * 10 + k] = scores[k]! / total;
          if (scores[k]! > scores[best]!) best = k;
        }
        labels[row] = best;
      }
      return { probabilities, labels };
    },
    dispose() {},
  };
}

export function toySource(production = 1, delayMs = 1): ModelSource {
  return { productionVersion: async () => production, load: async (v) => toyModel(String(v), delayMs) };
}
