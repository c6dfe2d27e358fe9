import { describe, expect, it } from '@jest/globals';
import { parseIdx } from '../../src/ml/idx.js';
import { loadMnist } from '../../src/ml/mnist.js';

function idx(dims: number[], data: number[], magicType = 0x08): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = magicType;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

describe('IDX reader', () => {
  it('reads dimensions and data of a well-formed file', () => {
    const parsed = parseIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]));
    expect(parsed.dims).toEqual([2, 3]);
    expect(Array.from(parsed.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects a bad magic number, naming it', () => {
    expect(() => parseIdx(idx([2], [1, 2], 0x0d), 'x.idx')).toThrow(/x\.idx: bad magic number 0x00000d01/);
    expect(() => parseIdx(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), 'gz')).toThrow(/bad magic number 0x1f8b0800/);
  });

  it('rejects truncated files with the sizes involved', () => {
    expect(() => parseIdx(new Uint8Array([0, 0]), 'tiny')).toThrow(/tiny: truncated: 2 bytes/);
    expect(() => parseIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]).subarray(0, 8), 'hdr')).toThrow(
      /hdr: truncated inside the header/,
    );
    expect(() => parseIdx(idx([2, 3], [1, 2, 3, 4]), 'short')).toThrow(
      /short: truncated: dimensions 2×3 need 6 data bytes, the file has 4/,
    );
  });

  it('loads the real MNIST splits: 60k train and 10k test, 28×28, labels 0..9, pixels in [0,1]', () => {
    const train = loadMnist('train');
    const test = loadMnist('test');
    expect([train.count, train.height, train.width]).toEqual([60000, 28, 28]);
    expect(test.count).toBe(10000);
    expect(test.labels?.length).toBe(10000);
    // The first test digits of MNIST are 7, 2, 1, 0, 4.
    expect(Array.from(test.labels?.subarray(0, 5) ?? [])).toEqual([7, 2, 1, 0, 4]);
    expect(Math.max(...Array.from(train.labels ?? []))).toBe(9);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of test.pixels) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect([lo, hi]).toEqual([0, 1]);
  });
});
