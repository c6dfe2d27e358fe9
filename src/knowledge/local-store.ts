/**
 * The one-machine default: a directory tree. Writes go to a temporary file that is renamed over
 * the target, so a reader (or a crash) never sees half an object. Conditional writes (for the
 * model registry's document) compare the file's SHA-256 and rename while holding a lock file
 * `<file>.tmp-lock` created with O_EXCL, so writers in different processes never lose an update.
 */
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { ConditionalWrites, VersionedObject } from './conditional.js';
import { withFileLock } from './file-lock.js';
import { checkKey, checkPrefix, parseJson } from './keys.js';
import { KnowledgeError, type KnowledgeStore } from './types.js';

const contentTag = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

export class LocalDirectoryStore implements KnowledgeStore, ConditionalWrites {
  readonly root: string;
  readonly location: string;

  constructor(directory: string) {
    if (typeof directory !== 'string' || directory.length === 0)
      throw new KnowledgeError(
        'InvalidInput',
        `local store directory must be a non-empty path, got ${JSON.stringify(directory)}`,
      );
    this.root = resolve(directory);
    this.location = pathToFileURL(this.root).href;
  }

  private path(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  async putBytes(key: string, data: Uint8Array): Promise<void> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    const temp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await writeFile(temp, data);
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw new KnowledgeError('Backend', `cannot write ${this.location}/${key}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async getBytes(key: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(this.path(key)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EISDIR') {
        throw new KnowledgeError('NotFound', `no object ${key} in ${this.location}`, { cause: err });
      }
      if (err instanceof KnowledgeError) throw err;
      throw new KnowledgeError('Backend', `cannot read ${this.location}/${key}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.putBytes(key, Buffer.from(JSON.stringify(value)));
  }

  async getJson<T = unknown>(key: string): Promise<T> {
    return parseJson<T>(await this.getBytes(key), key, this.location);
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.path(key))).isFile();
    } catch (err) {
      if (err instanceof KnowledgeError) throw err;
      return false;
    }
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    const keys: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile() && !entry.name.includes('.tmp-')) {
          const key = relative(this.root, full).split(sep).join('/');
          if (key.startsWith(prefix)) keys.push(key);
        }
      }
    };
    // Start from the deepest directory the prefix names, not the whole tree.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    await walk(dirPart ? join(this.root, ...dirPart.split('/')) : this.root);
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async getVersioned(key: string): Promise<VersionedObject | undefined> {
    try {
      const data = await this.getBytes(key);
      return { data, tag: contentTag(data) };
    } catch (err) {
      if (err instanceof KnowledgeError && err.code === 'NotFound') return undefined;
      throw err;
    }
  }

  async putIfUnchanged(key: string, data: Uint8Array, expectedTag: string | null): Promise<boolean> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    // Staged outside the lock: the critical section is one read, one compare and one rename.
    const temp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await writeFile(temp, data);
      return await withFileLock(`${target}.tmp-lock`, async () => {
        const current = await this.getVersioned(key);
        if ((current?.tag ?? null) !== expectedTag) return false;
        await rename(temp, target);
        return true;
      });
    } catch (err) {
      if (err instanceof KnowledgeError) throw err;
      throw new KnowledgeError('Backend', `cannot write ${this.location}/${key}: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      await rm(temp, { force: true });
    }
  }
}
