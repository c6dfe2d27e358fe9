/**
 * Compare-and-swap of one object: what a document rewritten by several processes (the model
 * registry) needs so that no writer overwrites a change it has not seen. Both stores have it:
 *   S3              the object's ETag, and a PUT with `If-Match: <etag>` (or `If-None-Match: *`
 *                   to create); the server refuses a stale one with 412 PreconditionFailed.
 *                   versitygw ≥ 1.8 (the test server), AWS S3 (since 2024), MinIO and Ceph RGW
 *                   honour both on PutObject, and versitygw checks them under its per-object
 *                   publish lock, so two conditional PUTs on one ETag never both succeed.
 *   local directory the SHA-256 of the file's bytes, checked and replaced (atomic rename)
 *                   while holding an O_EXCL lock file beside it (file-lock.ts).
 */
import type { KnowledgeStore } from './types.js';

export interface VersionedObject {
  data: Uint8Array;
  /** Opaque; changes whenever the content changes. */
  tag: string;
}

export interface ConditionalWrites {
  /** The object with the tag of exactly these bytes, or undefined when it does not exist. */
  getVersioned(key: string): Promise<VersionedObject | undefined>;
  /**
   * Writes `data` only if the object still carries `expectedTag` (`null`: only if it does not
   * exist yet). Resolves false, writing nothing, when another writer changed it in between.
   */
  putIfUnchanged(key: string, data: Uint8Array, expectedTag: string | null, contentType?: string): Promise<boolean>;
}

export function hasConditionalWrites(store: KnowledgeStore): store is KnowledgeStore & ConditionalWrites {
  const s = store as Partial<ConditionalWrites>;
  return typeof s.getVersioned === 'function' && typeof s.putIfUnchanged === 'function';
}
