/**
 * Image sets (datasets, picked samples, stream batches) stored as ONE binary object, so a batch
 * is never half-written: `SFIMG1\n`, a uint32 (LE) header length, a JSON header
 * `{count, height, width, labels?, ids?}`, then `count*height*width` bytes (pixels quantised to
 * 0..255, as MNIST itself is stored). Reading checks every length and range. `ImageSet` is the ML
 * library's type: the knowledge base sits above `src/ml` and imports from it, never the reverse.
 */
import type { ImageSet } from '../ml/types.js';
import { KnowledgeError, type KnowledgeStore } from './types.js';

const MAGIC = Buffer.from('SFIMG1\n', 'ascii');

interface Header {
  count: number;
  height: number;
  width: number;
  labels?: number[];
  ids?: string[];
}

export function validateImageSet(set: ImageSet, what = 'image set'): void {
  if (!set || typeof set !== 'object') throw new KnowledgeError('InvalidInput', `${what} must be an object`);
  const { count, height, width, pixels } = set;
  if (!Number.isInteger(count) || count < 0)
    throw new KnowledgeError('InvalidInput', `${what}.count must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new KnowledgeError('InvalidInput', `${what} height/width must be positive integers, got ${height}×${width}`);
  }
  if (!(pixels instanceof Float32Array)) {
    throw new KnowledgeError(
      'InvalidInput',
      `${what}.pixels must be a Float32Array, got ${(pixels as object)?.constructor?.name ?? typeof pixels}`,
    );
  }
  if (pixels.length !== count * height * width) {
    throw new KnowledgeError(
      'InvalidInput',
      `${what}.pixels has ${pixels.length} values, expected count×height×width = ${count}×${height}×${width} = ${count * height * width}`,
    );
  }
  if (set.labels && set.labels.length !== count)
    throw new KnowledgeError('InvalidInput', `${what}.labels has ${set.labels.length} entries, expected ${count}`);
  if (set.ids && set.ids.length !== count)
    throw new KnowledgeError('InvalidInput', `${what}.ids has ${set.ids.length} entries, expected ${count}`);
}

export function encodeImageSet(set: ImageSet): Uint8Array {
  validateImageSet(set);
  const header: Header = { count: set.count, height: set.height, width: set.width };
  if (set.labels) header.labels = Array.from(set.labels);
  if (set.ids) header.ids = set.ids;
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(MAGIC.length + 4 + json.length + set.pixels.length);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(json.length, MAGIC.length);
  json.copy(out, MAGIC.length + 4);
  const base = MAGIC.length + 4 + json.length;
  for (let i = 0; i < set.pixels.length; i++) {
    const v = set.pixels[i] ?? 0;
    out[base + i] = Math.round(Math.min(1, Math.max(0, v)) * 255);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

export function decodeImageSet(bytes: Uint8Array, source = 'image set'): ImageSet {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new KnowledgeError('Corrupt', `${source} is not a Scanflow image set (bad magic)`);
  }
  const headerLength = buf.readUInt32LE(MAGIC.length);
  if (MAGIC.length + 4 + headerLength > buf.length)
    throw new KnowledgeError('Corrupt', `${source} is truncated inside its header`);
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(MAGIC.length + 4, MAGIC.length + 4 + headerLength).toString('utf8')) as Header;
  } catch (err) {
    throw new KnowledgeError('Corrupt', `${source} has an unreadable header (${(err as Error).message})`, {
      cause: err,
    });
  }
  const { count, height, width } = header;
  if (![count, height, width].every((n) => Number.isInteger(n) && n >= 0))
    throw new KnowledgeError('Corrupt', `${source} header has bad count/height/width`);
  const base = MAGIC.length + 4 + headerLength;
  const size = count * height * width;
  if (buf.length !== base + size)
    throw new KnowledgeError('Corrupt', `${source} has ${buf.length - base} pixel bytes, its header needs ${size}`);
  const pixels = new Float32Array(size);
  for (let i = 0; i < size; i++) pixels[i] = (buf[base + i] ?? 0) / 255;
  const set: ImageSet = { count, height, width, pixels };
  if (header.labels) {
    if (header.labels.length !== count || header.labels.some((l) => !Number.isInteger(l)))
      throw new KnowledgeError('Corrupt', `${source} has bad labels`);
    set.labels = Int32Array.from(header.labels);
  }
  if (header.ids) {
    if (header.ids.length !== count)
      throw new KnowledgeError('Corrupt', `${source} has ${header.ids.length} ids for ${count} images`);
    set.ids = header.ids;
  }
  return set;
}

export async function putImageSet(store: KnowledgeStore, key: string, set: ImageSet): Promise<void> {
  await store.putBytes(key, encodeImageSet(set));
}

export async function getImageSet(store: KnowledgeStore, key: string): Promise<ImageSet> {
  return decodeImageSet(await store.getBytes(key), `${store.location}/${key}`);
}
