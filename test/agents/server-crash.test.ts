/**
 * kill -9 of the Temporal server itself in the middle of an agent's strategy run: the server comes
 * back on its database (as `npm run dev` restarts it), the worker reconnects by itself, and the
 * strategy finishes with every completed action run exactly once; the interrupted action runs
 * again (activities are at least once). Prints the time from the restart to the finished run.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgentActivities } from '../../src/activities/agents/registry.js';
import { AgentClient } from '../../src/client/agents.js';
import { freePort } from '../../src/stack/ports.js';
import { startTemporalDevServer, type RunningTemporal } from '../../src/stack/temporal-server.js';
import { installQuietRuntime } from '../harness/env.js';
import { crashActivities } from './fixtures/crash-activities.js';
import { agentBundle, eventually, sleep } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'scanflow-server-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('agent durability across a Temporal server crash', () => {
  it('finishes the strategy after kill -9 and restart of the server, repeating no completed action', async () => {
    installQuietRuntime();
    const [port, uiPort] = [await freePort(), await freePort()];
    const options = { dbFile: join(dir, 'temporal.db'), port, uiPort, logDir: dir };
    let server: RunningTemporal = await startTemporalDevServer(options);
    const logFile = join(dir, 'actions.log');
    writeFileSync(logFile, '');
    const lines = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []);
    const workerConnection = await NativeConnection.connect({ address: server.address });
    const clientConnection = await Connection.connect({ address: server.address });
    const client = new Client({ connection: clientConnection, namespace: 'default' });
    const taskQueue = 'server-crash';
    const worker = await Worker.create({
      connection: workerConnection,
      namespace: 'default',
      taskQueue,
      workflowBundle: await agentBundle(),
      activities: createAgentActivities({ client, actions: crashActivities(logFile) }),
    });
    const running = worker.run();
    try {
      const handle = await new AgentClient(client, { taskQueue }).start({
        app: 'crash',
        name: 'executor',
        template: 'executor',
        strategies: [
          {
            name: 'upgrade',
            when: { call: 'change_model' },
            then: [
              { activity: 'step', args: { tag: 'before' } },
              { activity: 'quietStep', args: { ms: 4000 }, timeout: '5m' },
              { activity: 'step', args: { tag: 'after' } },
            ],
          },
        ],
      });
      await handle.signalCall({ name: 'change_model', args: { version: 3 }, callId: 'v3' });
      await eventually(
        () => (lines().some((l) => l.startsWith('quiet-start@')) ? true : undefined),
        'the action',
        60_000,
      );

      process.kill(-server.process.pid, 'SIGKILL');
      await sleep(3000); // the server is gone while the action runs and tries to report
      server = await startTemporalDevServer(options);
      const restartedAt = Date.now();

      await eventually(() => (lines().includes('after') ? true : undefined), 'the run to finish', 120_000);
      console.log(
        `recovery after kill -9 of the Temporal server: the strategy finished ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the restart`,
      );
      const [decision] = await eventually(
        async () => {
          const d = await handle.decisions(1);
          return d[0]?.outcome === 'acted' ? d : undefined;
        },
        'the decision',
        60_000,
      );
      expect(decision).toMatchObject({ strategy: 'upgrade', outcome: 'acted' });
      const log = lines();
      expect(log.filter((l) => l === 'before')).toHaveLength(1);
      expect(log.filter((l) => l === 'after')).toHaveLength(1);
      expect(log.filter((l) => l.startsWith('quiet-start@')).length).toBeGreaterThanOrEqual(1);
      await handle.stop();
    } finally {
      worker.shutdown();
      await running;
      await clientConnection.close();
      await workerConnection.close();
      await server.process.stop();
    }
  });
});
