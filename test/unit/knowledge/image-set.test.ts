// Image sets: decoding corrupt bytes and encoding bad sets, one named row per case, each asserting
// a KnowledgeError that names the object and what is wrong with it.
import { describe, expect, it } from '@jest/globals';
import { decodeImageSet, encodeImageSet } from '../../../src/knowledge/image-set.js';
import { KnowledgeError } from '../../../src/knowledge/types.js';
import type { ImageSet } from '../../../src/ml/types.js';

const MAGIC = Buffer.from('SFIMG1\n', 'ascii');

/** The bytes of an image set whose header is `header` (any JSON, or raw text) and with `pixels` pixel bytes. */
function encoded(header: unknown, pixels: number, headerLength?: number): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(MAGIC.length + 4 + json.length + pixels);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(headerLength ?? json.length, MAGIC.length);
  json.copy(out, MAGIC.length + 4);
  return new Uint8Array(out);
}

const tiny = { count: 2, height: 2, width: 2 };

function thrown(work: () => unknown): KnowledgeError {
  try {
    work();
  } catch (err) {
    expect(err).toBeInstanceOf(KnowledgeError);
    return err as KnowledgeError;
  }
  throw new Error('expected a KnowledgeError, nothing was thrown');
}

describe('decoding an image set', () => {
  it('round-trips a well-formed set (the baseline the corrupt rows depart from)', () => {
    const set = decodeImageSet(encoded({ ...tiny, labels: [3, 9], ids: ['a', 'b'] }, 8), 'ok.sfimg');
    expect([set.count, set.height, set.width, set.pixels.length]).toEqual([2, 2, 2, 8]);
    expect(Array.from(set.labels ?? [])).toEqual([3, 9]);
    expect(set.ids).toEqual(['a', 'b']);
  });

  it.each<[string, Uint8Array, RegExp]>([
    ['empty bytes', new Uint8Array(0), /x\.sfimg is not a Scanflow image set \(bad magic\)/],
    ['a PNG file', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]), /bad magic/],
    ['the magic alone', new Uint8Array(MAGIC), /bad magic/],
    ['a header length past the end', encoded(tiny, 0, 10_000), /x\.sfimg is truncated inside its header/],
    ['a header that is not JSON', encoded('{"count":', 0), /x\.sfimg has an unreadable header/],
    ['a negative count', encoded({ ...tiny, count: -1 }, 0), /x\.sfimg header has bad count\/height\/width/],
    ['a fractional width', encoded({ ...tiny, width: 1.5 }, 3), /header has bad count\/height\/width/],
    ['a missing height', encoded({ count: 1, width: 2 }, 2), /header has bad count\/height\/width/],
    ['too few pixel bytes', encoded(tiny, 7), /x\.sfimg has 7 pixel bytes, its header needs 8/],
    ['too many pixel bytes', encoded(tiny, 9), /x\.sfimg has 9 pixel bytes, its header needs 8/],
    ['one label for two images', encoded({ ...tiny, labels: [3] }, 8), /x\.sfimg has bad labels/],
    ['a label that is not an integer', encoded({ ...tiny, labels: [3, 'nine'] }, 8), /x\.sfimg has bad labels/],
    ['three ids for two images', encoded({ ...tiny, ids: ['a', 'b', 'c'] }, 8), /x\.sfimg has 3 ids for 2 images/],
  ])('refuses %s as Corrupt', (_case, bytes, message) => {
    const err = thrown(() => decodeImageSet(bytes, 'x.sfimg'));
    expect(err.code).toBe('Corrupt');
    expect(err.message).toMatch(message);
  });
});

describe('encoding an image set', () => {
  const ok: ImageSet = { count: 2, height: 28, width: 28, pixels: new Float32Array(2 * 784) };
  it.each<[string, unknown, RegExp]>([
    ['no set', undefined, /image set must be an object/],
    ['a negative count', { ...ok, count: -2 }, /image set\.count must be a non-negative integer, got -2/],
    ['a zero height', { ...ok, height: 0 }, /image set height\/width must be positive integers, got 0×28/],
    ['pixels as a plain array', { ...ok, pixels: [0, 1] }, /image set\.pixels must be a Float32Array, got Array/],
    ['pixels as float64', { ...ok, pixels: new Float64Array(1568) }, /must be a Float32Array, got Float64Array/],
    [
      'too few pixels',
      { ...ok, pixels: new Float32Array(10) },
      /pixels has 10 values, expected count×height×width = 2×28×28 = 1568/,
    ],
    [
      'one label for two images',
      { ...ok, labels: Int32Array.from([1]) },
      /image set\.labels has 1 entries, expected 2/,
    ],
    ['three ids for two images', { ...ok, ids: ['a', 'b', 'c'] }, /image set\.ids has 3 entries, expected 2/],
  ])('refuses %s as InvalidInput', (_case, set, message) => {
    const err = thrown(() => encodeImageSet(set as ImageSet));
    expect(err.code).toBe('InvalidInput');
    expect(err.message).toMatch(message);
  });
});
