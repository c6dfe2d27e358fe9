import { describe, expect, it } from '@jest/globals';
import { CACHE_FORMAT, cacheDirectoryName } from '../../../src/apps/mnist/demo-bootstrap.js';
import { parseDemoOptions } from '../../../src/apps/mnist/demo-options.js';

const options = (args: string[]) => {
  const o = parseDemoOptions(args);
  if (o === 'help') throw new Error('unexpected help');
  return o;
};

describe("the demo's bootstrap cache", () => {
  it('is keyed by the format and the seed, so another seed never reuses seed 7’s V1', () => {
    const seven = cacheDirectoryName(options([]));
    const eleven = cacheDirectoryName(options(['--seed', '11']));
    expect(seven).toMatch(new RegExp(`^knowledge-${CACHE_FORMAT}-seed7-[0-9a-f]{12}$`));
    expect(eleven).toMatch(new RegExp(`^knowledge-${CACHE_FORMAT}-seed11-[0-9a-f]{12}$`));
    expect(cacheDirectoryName(options([]))).toBe(seven);
  });

  it("changes with the held-out set's drift (the schedule's corruptions and largest share) and the epochs", () => {
    const base = cacheDirectoryName(options([]));
    const drift = JSON.stringify([{ fromBatch: 0, share: 0.7, corruptions: ['translate', 'canny_edges'] }]);
    expect(cacheDirectoryName(options(['--drift', drift]))).not.toBe(base);
    expect(cacheDirectoryName({ ...options([]), classifierEpochs: 3 })).not.toBe(base);
    expect(cacheDirectoryName({ ...options([]), detectorEpochs: 2 })).not.toBe(base);
  });
});
