/**
 * A lock file for one short critical section shared by processes on one machine: created with
 * O_EXCL (`open(…, 'wx')`), so exactly one process holds it; it records pid, host and a nonce.
 * A lock left behind by a dead process (same host, pid gone) or older than `staleMs` is broken
 * by renaming it away, and only the holder's own nonce is ever removed on release.
 */
import { link, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { KnowledgeError } from './types.js';

interface LockInfo {
  pid: number;
  host: string;
  nonce: string;
  at: number;
}

export interface FileLockOptions {
  /** Give up (KnowledgeError Backend, retryable) after this long. Default 30 s. */
  timeoutMs?: number;
  /** A lock older than this is taken to be abandoned. Default 15 s (holders keep it for milliseconds). */
  staleMs?: number;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readInfo(path: string): Promise<LockInfo | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockInfo;
  } catch {
    return undefined; // absent, or being written right now
  }
}

async function isStale(path: string, info: LockInfo | undefined, staleMs: number): Promise<boolean> {
  if (info && info.host === hostname() && Number.isInteger(info.pid) && !pidAlive(info.pid)) return true;
  try {
    return Date.now() - (await stat(path)).mtimeMs > staleMs;
  } catch {
    return false; // gone: the next attempt will take it
  }
}

/** Moves an abandoned lock away; if it turns out to be a fresh one, puts it back. */
async function breakLock(path: string, seen: LockInfo | undefined): Promise<void> {
  const aside = `${path}-stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else broke or released it
  }
  const moved = await readInfo(aside);
  if (seen && moved && moved.nonce !== seen.nonce) {
    // A new holder took it between our look and the rename: restore it (fails if yet another exists).
    await link(aside, path).catch(() => undefined);
  }
  await rm(aside, { force: true });
}

export async function withFileLock<T>(path: string, work: () => Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const staleMs = opts.staleMs ?? 15_000;
  const mine: LockInfo = { pid: process.pid, host: hostname(), nonce: randomBytes(12).toString('hex'), at: Date.now() };
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(JSON.stringify(mine));
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new KnowledgeError('Backend', `cannot create lock file ${path}: ${(err as Error).message}`, {
          cause: err,
        });
    }
    const holder = await readInfo(path);
    if (await isStale(path, holder, staleMs)) {
      await breakLock(path, holder);
      continue;
    }
    if (Date.now() > deadline)
      throw new KnowledgeError(
        'Backend',
        `lock ${path} is still held${holder ? ` by pid ${holder.pid} on ${holder.host}` : ''} after ${timeoutMs} ms`,
      );
    await sleep(Math.min(50, 2 + attempt) * (0.5 + Math.random()));
  }
  try {
    return await work();
  } finally {
    const current = await readInfo(path);
    if (current?.nonce === mine.nonce) await rm(path, { force: true });
  }
}
