/** Validation of store keys, shared by both backends so a bad key fails the same way everywhere. */
import { KnowledgeError } from './types.js';

const KEY_PATTERN = /^[A-Za-z0-9._=-]+(\/[A-Za-z0-9._=-]+)*$/;

export function checkKey(key: string, what = 'key'): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 900) {
    throw new KnowledgeError(
      'InvalidInput',
      `${what} must be a non-empty string of at most 900 characters, got ${JSON.stringify(key)}`,
    );
  }
  if (!KEY_PATTERN.test(key) || key.split('/').some((s) => s === '.' || s === '..')) {
    throw new KnowledgeError(
      'InvalidInput',
      `${what} ${JSON.stringify(key)} is not a valid store key: use '/'-separated segments of letters, digits and ._=- (no empty, '.' or '..' segment, no leading '/')`,
    );
  }
  return key;
}

/** A list prefix may be empty (everything) or end with '/'. */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  checkKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, 'prefix');
  return prefix;
}

export function parseJson<T>(bytes: Uint8Array, key: string, location: string): T {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as T;
  } catch (err) {
    throw new KnowledgeError('Corrupt', `${location}/${key} is not valid JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
}
