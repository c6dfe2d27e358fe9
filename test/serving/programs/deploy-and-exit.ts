/**
 * Run by local-platform-lifecycle.test.ts as its own process: deploys a plain HTTP service on the
 * local platform, prints the replica pids, then exits WITHOUT closing the platform.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalPlatform } from '../../../src/platform/local/local-platform.js';

const server =
  "require('node:http').createServer((q, s) => s.end('hello from ' + process.env.SCANFLOW_REPLICA)).listen(Number(process.env.PORT), '127.0.0.1')";

async function run(): Promise<void> {
  // Runs a spec's own command: allowed only because this test program opts in.
  const platform = new LocalPlatform({ workDir: mkdtempSync(join(tmpdir(), 'scanflow-exit-')), allowCommands: true });
  const ref = { app: 'demo', workflow: 'hello' };
  await platform.deployWorkflow({
    ...ref,
    services: [
      { name: 'hello', image: 'plain-node', command: [process.execPath, '-e', server], port: 8080, replicas: 2 },
    ],
  });
  const answer = await (await fetch(platform.endpoint(ref))).text();
  const pids = (platform.routerStatus(ref) as { services: Record<string, { replicas: Array<{ port: number }> }> })
    .services;
  console.log(JSON.stringify({ answer, ports: Object.values(pids).flatMap((s) => s.replicas.map((r) => r.port)) }));
  process.exit(0);
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
