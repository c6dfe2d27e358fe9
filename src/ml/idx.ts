/**
 * Reader for the IDX format MNIST is distributed in: a 4-byte magic (two zero bytes, a type code,
 * the number of dimensions), one big-endian uint32 per dimension, then the data.
 */
import { InvalidInputError } from './errors.js';
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;

export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  if (bytes.length < 4)
    throw new InvalidInputError(
      `${source}: truncated: ${bytes.length} bytes, an IDX file has at least a 4-byte magic number`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = bytes[2] ?? 0;
  const rank = bytes[3] ?? 0;
  if (bytes[0] !== 0 || bytes[1] !== 0 || type !== UNSIGNED_BYTE || rank < 1 || rank > 4) {
    throw new InvalidInputError(
      `${source}: bad magic number 0x${magic.toString(16).padStart(8, '0')}: expected 0x0000080N (unsigned bytes, N = 1..4 dimensions; 0x00000801 labels, 0x00000803 images)`,
    );
  }
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength)
    throw new InvalidInputError(`${source}: truncated inside the header (${bytes.length} of ${headerLength} bytes)`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length < headerLength + size) {
    throw new InvalidInputError(
      `${source}: truncated: dimensions ${dims.join('×')} need ${size} data bytes, the file has ${bytes.length - headerLength}`,
    );
  }
  if (bytes.length > headerLength + size) {
    throw new InvalidInputError(
      `${source}: ${bytes.length - headerLength - size} unexpected bytes after the ${dims.join('×')} data`,
    );
  }
  return { dims, data: bytes.subarray(headerLength, headerLength + size) };
}
