// The local directory store's compare-and-swap (content hash checked under an O_EXCL lock file)
// and the lock itself: a stale tag loses, a lock left by a dead process is broken, a live holder
// is waited for, and a lock never released ends in a retryable error naming its holder.
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { withFileLock } from '../../../src/knowledge/file-lock.js';
import { LocalDirectoryStore } from '../../../src/knowledge/local-store.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'scanflow-lock-'));
  dirs.push(d);
  return d;
};
const bytes = (s: string) => Buffer.from(s);

describe('local directory compare-and-swap', () => {
  it('writes only over the content it read, and creates only what does not exist', async () => {
    const store = new LocalDirectoryStore(freshDir());
    expect(await store.getVersioned('doc.json')).toBeUndefined();
    expect(await store.putIfUnchanged('doc.json', bytes('one'), null)).toBe(true);
    expect(await store.putIfUnchanged('doc.json', bytes('other'), null)).toBe(false);
    const first = (await store.getVersioned('doc.json'))!;
    expect(await store.putIfUnchanged('doc.json', bytes('two'), first.tag)).toBe(true);
    expect(await store.putIfUnchanged('doc.json', bytes('stale'), first.tag)).toBe(false);
    expect(Buffer.from(await store.getBytes('doc.json')).toString()).toBe('two');
    // Neither the lock nor staged files are left behind, and list() never shows them.
    expect(await store.list('')).toEqual(['doc.json']);
    expect(readdirSync(store.root)).toEqual(['doc.json']);
  });
});

describe('lock file', () => {
  it('breaks a lock left by a process that died holding it', async () => {
    const dir = freshDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const path = join(dir, 'x.tmp-lock');
    writeFileSync(path, JSON.stringify({ pid: Number(dead), host: hostname(), nonce: 'old', at: Date.now() }));
    expect(await withFileLock(path, async () => 'ran', { timeoutMs: 2_000 })).toBe('ran');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('makes a second holder wait for the first, and gives up on one never released', async () => {
    const path = join(freshDir(), 'y.tmp-lock');
    const order: string[] = [];
    let release!: () => void;
    const first = withFileLock(path, async () => {
      order.push('first in');
      await new Promise<void>((r) => (release = r));
      order.push('first out');
    });
    await new Promise((r) => setTimeout(r, 50));
    const second = withFileLock(path, async () => void order.push('second'));
    await expect(withFileLock(path, async () => 'never', { timeoutMs: 200 })).rejects.toMatchObject({
      code: 'Backend',
      message: expect.stringMatching(new RegExp(`still held by pid ${process.pid} on .* after 200 ms`)),
    });
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second']);
  });
});
