/**
 * The local platform runs any command, not only the model server, and its replicas (in process
 * groups of their own) do not outlive the process that deployed them.
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const program = fileURLToPath(new URL('./programs/deploy-and-exit.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

describe('local platform lifecycle', () => {
  it('serves a plain command through the router and kills its replicas when the deploying process exits', async () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', program], {
      cwd: repoRoot,
      env: { ...process.env, NODE_OPTIONS: '' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const { answer, ports } = JSON.parse(out.trim().split('\n').pop()!) as { answer: string; ports: number[] };
    expect(answer).toMatch(/^hello from hello-hello-\d+$/);
    expect(ports).toHaveLength(2);
    for (const port of ports) await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });
});
