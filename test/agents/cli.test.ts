import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { binaryPath } from '../../src/stack/binaries.js';
import { runAgentCommand } from '../../src/cli/agents.js';
import { agentWorkflowId, triggerScheduleId } from '../../src/agents/conventions.js';
import { AgentClient } from '../../src/client/agents.js';
import { requireEnv } from '../harness/env.js';
import { agentTestBed, eventually } from './helpers.js';

const run = promisify(execFile);
const examples = fileURLToPath(new URL('../../examples/agents/', import.meta.url));

describe('agents from the command line', () => {
  const bed = agentTestBed();
  const temporal = (...args: string[]) =>
    run(binaryPath('temporal'), [...args, '--address', bed.t.address, '--namespace', bed.t.namespace], {
      timeout: 20_000,
    });
  /** `temporal workflow start --type agentWorkflow … --input-file <file>`: the README's way in. */
  const startWithTemporal = (taskQueue: string, workflowId: string, file: string) =>
    temporal(
      'workflow',
      'start',
      '--type',
      'agentWorkflow',
      '--task-queue',
      taskQueue,
      '--workflow-id',
      workflowId,
      '--input-file',
      file,
    );

  it('starts the example agent with the real `temporal` CLI, signals, queries and lists it', async () => {
    const { t, taskQueue, runUntil } = await bed.start('cli');
    const workflowId = agentWorkflowId('demo', 'heartbeat');
    await runUntil(async () => {
      await startWithTemporal(taskQueue, workflowId, join(examples, 'heartbeat.json'));
      const agent = new AgentClient(t.client).get('demo', 'heartbeat');
      // the 5 s interval fires and the agent remembers what its action returned
      await eventually(async () => ((await agent.state()).beliefs.last ? true : undefined), 'a beat', 20_000);
      expect((await agent.state()).scheduleIds).toEqual([triggerScheduleId('demo', 'heartbeat', 'beat')]);

      await temporal(
        'workflow',
        'signal',
        '--workflow-id',
        workflowId,
        '--name',
        'call',
        '--input',
        JSON.stringify({ name: 'ping', args: { beats: 3 }, caller: 'operator', callId: 'cli-1' }),
      );
      await eventually(
        async () =>
          (await agent.decisions()).some((d) => d.strategy === 'ping' && d.outcome === 'acted') ? true : undefined,
        'the ping',
      );
      const { stdout: queried } = await temporal(
        'workflow',
        'query',
        '--workflow-id',
        workflowId,
        '--type',
        'state',
        '--output',
        'json',
      );
      expect(JSON.stringify(JSON.parse(queried))).toContain('"agent":"heartbeat"');

      const { stdout: listed } = await eventually(async () => {
        const r = await temporal(
          'workflow',
          'list',
          '--query',
          "ScanflowApp='demo' AND ScanflowKind='agent'",
          '--output',
          'json',
        );
        return r.stdout.includes(workflowId) ? r : undefined;
      }, 'the agent in `temporal workflow list`');
      expect(listed).toContain(workflowId);
      const fromCode = await eventually(async () => {
        const list = await new AgentClient(t.client).list('demo');
        return list.length > 0 ? list : undefined;
      }, 'the agent in AgentClient.list');
      expect(fromCode).toEqual([
        expect.objectContaining({ workflowId, app: 'demo', agent: 'heartbeat', template: 'tracker', state: 'running' }),
      ]);

      // the scanflow CLI functions against the same agent
      const out: string[] = [];
      const deps = { client: t.client, taskQueue, out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
      expect(
        await runAgentCommand(['call', 'demo', 'heartbeat', 'ping', '--args', '{"beats":0}', '--wait'], deps),
      ).toBe(0);
      expect(JSON.parse(out.pop()!)).toMatchObject({
        ok: true,
        runs: [{ strategy: 'ping', outcome: 'constraint-false' }],
      });
      expect(await runAgentCommand(['set', 'demo', 'heartbeat', 'minBeats=0'], deps)).toBe(0);
      expect(JSON.parse(out.pop()!)).toEqual({ minBeats: 0 });
      expect(
        await runAgentCommand(['call', 'demo', 'heartbeat', 'ping', '--args', '{"beats":0}', '--wait'], deps),
      ).toBe(0);
      expect(JSON.parse(out.pop()!)).toMatchObject({ ok: true, runs: [{ strategy: 'ping', outcome: 'acted' }] });
      expect(await runAgentCommand(['stop', 'demo', 'heartbeat'], deps)).toBe(0);
      expect(JSON.parse(out.pop()!)).toEqual({
        stopped: true,
        removedSchedules: [triggerScheduleId('demo', 'heartbeat', 'beat')],
      });
    });
  });

  it('fails an agent started by the `temporal` CLI with an invalid spec, naming the field, without retrying', async () => {
    const { t, taskQueue, runUntil } = await bed.start('cli-bad');
    const file = join(requireEnv('SCANFLOW_TEST_DIR'), 'bad-for-temporal.json');
    writeFileSync(
      file,
      JSON.stringify({
        app: 'demo',
        name: 'bad',
        strategies: [{ name: 's', when: { every: '1h' }, then: [{ call: { agent: 'x' } }] }],
      }),
    );
    const workflowId = agentWorkflowId('demo', 'bad');
    await runUntil(async () => {
      await startWithTemporal(taskQueue, workflowId, file);
      const failure = await t.client.workflow
        .getHandle(workflowId)
        .result()
        .catch((e: unknown) => e as { cause?: { message?: string; type?: string } });
      expect(failure).toMatchObject({ cause: { type: 'InvalidAgentSpec' } });
      expect((failure as { cause: { message: string } }).cause.message).toMatch(
        /strategies\[0\]\.then\[0\]\.call\.name: expected a name/,
      );
    });
  });

  it('refuses to start an invalid spec file from the scanflow CLI', async () => {
    const { t } = bed;
    const file = join(requireEnv('SCANFLOW_TEST_DIR'), 'bad-agent.json');
    writeFileSync(
      file,
      JSON.stringify({ app: 'demo', name: 'bad', strategies: [{ name: 's', when: { cron: '61 * * * *' }, then: [] }] }),
    );
    const errors: string[] = [];
    const code = await runAgentCommand(['start', file], {
      client: t.client,
      out: () => {},
      err: (s) => errors.push(s),
    });
    expect(code).toBe(2);
    expect(errors.join('\n')).toMatch(
      /strategies\[0\]\.when\.cron: expected a cron expression like "\*\/5 \* \* \* \*": minute: '61' is not within 0-59/,
    );
  });
});
