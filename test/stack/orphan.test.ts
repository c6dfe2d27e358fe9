/**
 * `npm run dev` killed with SIGKILL cannot stop the Temporal server it started (a process group
 * of its own). The next start on the same database finds it through the pid file, stops it and
 * starts cleanly, instead of failing on a taken port.
 */
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/stack/ports.js';
import { startTemporalDevServer } from '../../src/stack/temporal-server.js';

const program = fileURLToPath(new URL('./programs/start-temporal.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Temporal dev server after the process that started it was killed', () => {
  it('is stopped by the next start on the same database, which then serves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scanflow-orphan-'));
    const [port, uiPort] = [await freePort(), await freePort()];
    const dbFile = join(dir, 'temporal.db');
    const parent = spawn(process.execPath, ['--import', 'tsx', program, dbFile, String(port), String(uiPort), dir], {
      cwd: repoRoot,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: parent.stdout! }).once('line', resolve);
        parent.once('exit', (code) => reject(new Error(`the starter exited with ${code}`)));
      });
      const orphan = (JSON.parse(line) as { pid: number }).pid;
      parent.kill('SIGKILL');
      await new Promise((resolve) => parent.once('exit', resolve));
      expect(alive(orphan)).toBe(true); // the situation: a server nobody will stop, holding the port

      const server = await startTemporalDevServer({ dbFile, port, uiPort, logDir: dir });
      try {
        expect(alive(orphan)).toBe(false);
        expect(server.process.pid).not.toBe(orphan);
        expect((await fetch(`http://127.0.0.1:${uiPort}/`)).ok).toBe(true);
      } finally {
        await server.process.stop();
      }
    } finally {
      parent.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
