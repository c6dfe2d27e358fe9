import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAgentActivities } from '../../src/activities/agents/registry.js';
import { Worker } from '@temporalio/worker';
import { crashActivities } from './fixtures/crash-activities.js';
import { requireEnv, uniqueTaskQueue } from '../harness/env.js';
import { agentTestBed, agentBundle, agents, eventually, sleep, uniqueApp } from './helpers.js';

describe('agent durability', () => {
  const bed = agentTestBed();

  it('continues-as-new keeping beliefs, strategies and decisions, without losing a signal sent during it', async () => {
    const { rec, client, app, runUntil } = await bed.start('can');
    const total = 120;
    rec.values.set('level', 7);
    await runUntil(async () => {
      const handle = await client.start({
        app,
        name: 'keeper',
        decisionLogSize: 1000,
        strategies: [
          {
            name: 'observe',
            when: { call: 'obs' },
            sense: [{ activity: 'readValue', args: { key: 'level' }, as: 'level' }],
            then: [{ activity: 'note', args: { tag: 'obs', n: { $ref: 'event.args.n' } } }],
          },
        ],
      });
      await handle.addStrategy({
        name: 'extra',
        when: { call: 'extra' },
        then: [{ activity: 'note', args: { tag: 'extra' } }],
      });
      // A steady stream of signals (a few in flight at once) while the server suggests continue-as-new every 200 events.
      for (let i = 0; i < total; i += 4) {
        await Promise.all(
          [0, 1, 2, 3].map((k) => handle.signalCall({ name: 'obs', args: { n: i + k }, callId: `obs-${i + k}` })),
        );
      }
      await eventually(() => (rec.noted('obs').length >= total ? true : undefined), `all ${total} calls`, 60_000);
      const state = await handle.state();
      expect(state.generations).toBeGreaterThanOrEqual(2);
      expect(state.beliefs).toEqual({ level: 7 });
      expect((await handle.strategies()).map((s) => s.name)).toEqual(['observe', 'extra']);
      const decisions = await handle.decisions();
      const observed = decisions.filter((d) => d.strategy === 'observe');
      expect(observed).toHaveLength(total);
      expect(observed.map((d) => (d.event as unknown as { args: { n: number } }).args.n).sort((a, b) => a - b)).toEqual(
        [...Array(total).keys()],
      );
      // the runtime-added strategy still answers after the transitions
      await handle.call({ name: 'extra' });
      expect(rec.noted('extra')).toHaveLength(1);
      // repeated call ids are remembered across continue-as-new
      const dup = await handle.call({ name: 'obs', args: { n: 0 }, callId: 'obs-0' });
      expect(dup.duplicate).toBe(true);
      const notes = rec
        .noted('obs')
        .map((c) => (c.args as { n: number }).n)
        .sort((a, b) => a - b);
      expect(notes).toEqual([...Array(total).keys()]);
      await handle.stop();
    });
  });

  it('finishes a strategy run after its worker is killed, without repeating completed actions', async () => {
    const { t } = bed;
    const taskQueue = uniqueTaskQueue('agents-crash');
    const logFile = join(requireEnv('SCANFLOW_TEST_DIR'), `${taskQueue}.log`);
    writeFileSync(logFile, '');
    const lines = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []);
    const fixture = fileURLToPath(new URL('./fixtures/crash-worker.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, t.address, t.namespace, taskQueue, logFile], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await eventually(() => (lines().includes('worker-ready') ? true : undefined), 'the child worker', 60_000);
      const client = agents(t, taskQueue);
      const app = uniqueApp('crash');
      const handle = await client.start({
        app,
        name: 'executor',
        template: 'executor',
        strategies: [
          {
            name: 'upgrade',
            when: { call: 'change_model' },
            then: [
              { activity: 'step', args: { tag: 'before' } },
              { activity: 'slowStep', args: { ms: 3000 }, heartbeat: '2s', timeout: '1m' },
              { activity: 'step', args: { tag: 'after' } },
            ],
          },
        ],
      });
      await handle.signalCall({ name: 'change_model', args: { version: 3 }, callId: 'v3' });
      await eventually(() => (lines().includes('slow-start') ? true : undefined), 'the slow action to start');
      child.kill('SIGKILL');
      await exited;

      const worker = await Worker.create({
        connection: t.workerConnection,
        namespace: t.namespace,
        taskQueue,
        workflowBundle: await agentBundle(),
        activities: createAgentActivities({ client: t.client, actions: crashActivities(logFile) }),
      });
      await worker.runUntil(async () => {
        await eventually(
          () => (lines().includes('after') ? true : undefined),
          'the run to finish on the new worker',
          60_000,
        );
        const [decision] = await handle.decisions(1);
        expect(decision).toMatchObject({ strategy: 'upgrade', outcome: 'acted' });
        expect(decision?.actions.map((a) => a.ok)).toEqual([true, true, true]);
        await handle.stop();
      });
      const log = lines().filter((l) => l !== 'worker-ready');
      expect(log.filter((l) => l === 'before')).toHaveLength(1);
      expect(log.filter((l) => l === 'slow-done')).toHaveLength(1);
      expect(log.filter((l) => l === 'after')).toHaveLength(1);
      // the interrupted attempt started again on the new worker; the completed step did not
      expect(log).toEqual(['before', 'slow-start', 'slow-start', 'slow-done', 'after']);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('resumes an action interrupted by kill -9 of its worker within seconds, not after its start-to-close timeout', async () => {
    // The action never heartbeats itself and has a 5-minute start-to-close timeout (like the
    // executor's upgrade); the agent worker heartbeats for it and the workflow gives it the
    // default heartbeat timeout, so the server notices the dead worker in about 10 s.
    const { t } = bed;
    const taskQueue = uniqueTaskQueue('agents-kill');
    const logFile = join(requireEnv('SCANFLOW_TEST_DIR'), `${taskQueue}.log`);
    writeFileSync(logFile, '');
    const lines = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []);
    const starts = () => lines().filter((l) => l.startsWith('quiet-start@'));
    const fixture = fileURLToPath(new URL('./fixtures/crash-worker.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, t.address, t.namespace, taskQueue, logFile], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const worker = Worker.create({
      connection: t.workerConnection,
      namespace: t.namespace,
      taskQueue,
      workflowBundle: await agentBundle(),
      activities: createAgentActivities({ client: t.client, actions: crashActivities(logFile) }),
    });
    try {
      await eventually(() => (lines().includes('worker-ready') ? true : undefined), 'the child worker', 60_000);
      const handle = await agents(t, taskQueue).start({
        app: uniqueApp('kill'),
        name: 'executor',
        template: 'executor',
        strategies: [
          {
            name: 'upgrade',
            when: { call: 'change_model' },
            then: [
              { activity: 'step', args: { tag: 'before' } },
              { activity: 'quietStep', args: { ms: 6000 }, timeout: '5m' },
              { activity: 'step', args: { tag: 'after' } },
            ],
          },
        ],
      });
      await handle.signalCall({ name: 'change_model', args: { version: 3 }, callId: 'v3' });
      await eventually(() => (starts().length > 0 ? true : undefined), 'the long action to start', 60_000);
      await sleep(1000);
      child.kill('SIGKILL');
      const killedAt = Date.now();
      await exited;

      // A replacement worker (created beforehand, as a deployment's other replica would be).
      await (
        await worker
      ).runUntil(async () => {
        await eventually(() => (starts().length >= 2 ? true : undefined), 'the action to resume', 120_000);
        const resumedAt = Number(starts()[1]!.slice('quiet-start@'.length));
        const seconds = (resumedAt - killedAt) / 1000;
        console.log(`recovery after kill -9 of the worker: the interrupted action resumed in ${seconds.toFixed(1)} s`);
        // The goal is 15 s (heartbeat timeout 10 s + retry); generous here, the machine is shared.
        expect(seconds).toBeLessThan(60);
        await eventually(() => (lines().includes('after') ? true : undefined), 'the run to finish', 60_000);
        const [decision] = await handle.decisions(1);
        expect(decision).toMatchObject({ strategy: 'upgrade', outcome: 'acted' });
        await handle.stop();
      });
      const log = lines().filter((l) => l !== 'worker-ready');
      // no lost and no duplicated action: the completed step ran once, the interrupted one finished once
      expect(log.filter((l) => l === 'before')).toHaveLength(1);
      expect(log.filter((l) => l === 'quiet-done')).toHaveLength(1);
      expect(log.filter((l) => l === 'after')).toHaveLength(1);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
