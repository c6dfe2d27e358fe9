import { describe, expect, it } from '@jest/globals';
import { ScheduleNotFoundError, WorkflowNotFoundError } from '@temporalio/client';
import { agentWorkflowId, triggerScheduleId } from '../../src/agents/conventions.js';
import { SpecError } from '../../src/agents/validate.js';
import { Worker } from '@temporalio/worker';
import { uniqueTaskQueue } from '../harness/env.js';
import { agentTestBed, agentBundle, agents, eventually, sleep, uniqueApp } from './helpers.js';

describe('Call-Receive, constraints and run-time changes', () => {
  const bed = agentTestBed();

  it('lets one agent call another by signal and by update, and processes a repeated call id once', async () => {
    const { t, rec, client, app, runUntil } = await bed.start('calls');
    await runUntil(async () => {
      const checker = await client.start({
        app,
        name: 'checker',
        template: 'checker',
        strategies: [
          {
            name: 'check',
            when: { call: 'check_predictions' },
            then: [
              {
                activity: 'note',
                args: { tag: 'checked', batch: { $ref: 'event.args.batch' }, caller: { $ref: 'event.caller' } },
                as: 'report',
              },
            ],
          },
        ],
      });
      const tracker = await client.start({
        app,
        name: 'tracker',
        template: 'tracker',
        strategies: [
          {
            name: 'tell',
            when: { call: 'tell' },
            then: [
              { call: { agent: 'checker', name: 'check_predictions', args: { batch: { $ref: 'event.args.batch' } } } },
            ],
          },
          {
            name: 'ask',
            when: { call: 'ask' },
            then: [
              {
                call: {
                  agent: 'checker',
                  name: 'check_predictions',
                  args: { batch: { $ref: 'event.args.batch' } },
                  wait: true,
                },
                as: 'reply',
              },
              {
                activity: 'note',
                args: {
                  tag: 'reply',
                  ok: { $ref: 'results.reply.ok' },
                  report: { $ref: 'results.reply.runs.0.results.report' },
                },
              },
            ],
          },
        ],
      });
      await tracker.signalCall({ name: 'tell', args: { batch: 'b1' }, caller: 'test' });
      await eventually(() => (rec.noted('checked').length === 1 ? true : undefined), 'the signalled call');
      expect(rec.noted('checked')[0]?.args).toEqual({
        tag: 'checked',
        batch: 'b1',
        caller: agentWorkflowId(app, 'tracker'),
      });

      const outcome = await tracker.call({ name: 'ask', args: { batch: 'b2' }, callId: 'ask-1' });
      expect(outcome.ok).toBe(true);
      expect(rec.noted('reply')[0]?.args).toEqual({
        tag: 'reply',
        ok: true,
        report: { noted: { tag: 'checked', batch: 'b2', caller: agentWorkflowId(app, 'tracker') } },
      });

      // The same call id twice, by signal and by update: one run.
      await checker.signalCall({ name: 'check_predictions', args: { batch: 'dup' }, callId: 'dup-1', caller: 'test' });
      await checker.signalCall({ name: 'check_predictions', args: { batch: 'dup' }, callId: 'dup-1', caller: 'test' });
      const again = await checker.call({
        name: 'check_predictions',
        args: { batch: 'dup' },
        callId: 'dup-1',
        caller: 'test',
      });
      expect(again.duplicate).toBe(true);
      expect(again.ok).toBe(true);
      await sleep(500);
      expect(rec.noted('checked').filter((c) => (c.args as { batch: string }).batch === 'dup')).toHaveLength(1);

      // Both sides of the signal are in the histories (the Temporal UI shows them).
      const callerHistory = await t.client.workflow.getHandle(agentWorkflowId(app, 'tracker')).fetchHistory();
      expect(
        callerHistory.events?.some(
          (e) =>
            e.signalExternalWorkflowExecutionInitiatedEventAttributes?.workflowExecution?.workflowId ===
            agentWorkflowId(app, 'checker'),
        ),
      ).toBe(true);
      const calleeHistory = await t.client.workflow.getHandle(agentWorkflowId(app, 'checker')).fetchHistory();
      expect(calleeHistory.events?.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'call')).toBe(
        true,
      );
      await tracker.stop();
      await checker.stop();
    });
    // The recorded histories replay on the current workflow code: the agent is deterministic.
    for (const agent of ['tracker', 'checker']) {
      const history = await t.client.workflow.getHandle(agentWorkflowId(app, agent)).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: await agentBundle() }, history, agentWorkflowId(app, agent));
    }
  });

  it('runs no action when the constraint is false, and applies strategy and parameter updates from the next event', async () => {
    const { rec, client, app, runUntil } = await bed.start('rules');
    await runUntil(async () => {
      const planner = await client.start({
        app,
        name: 'planner',
        template: 'planner',
        parameters: { minSamples: 100 },
        strategies: [
          {
            name: 'retrain',
            when: { call: 'samples' },
            sense: [{ activity: 'readValue', args: { key: 'picked' }, as: 'picked' }],
            if: { compare: [{ $ref: 'beliefs.picked' }, '>=', { $ref: 'params.minSamples' }] },
            then: [{ activity: 'note', args: { tag: 'v1', picked: { $ref: 'beliefs.picked' } } }],
          },
        ],
      });
      rec.values.set('picked', 40);
      const low = await planner.call({ name: 'samples' });
      expect(low.runs).toEqual([{ strategy: 'retrain', outcome: 'constraint-false', results: { picked: 40 } }]);
      expect(rec.noted()).toHaveLength(0);
      const [decision] = await planner.decisions(1);
      expect(decision).toMatchObject({
        strategy: 'retrain',
        observed: { picked: 40 },
        constraint: false,
        actions: [],
        outcome: 'constraint-false',
      });

      // A planner tuning the threshold: the very next event uses it.
      await planner.setParameters({ minSamples: 30 });
      await planner.call({ name: 'samples' });
      expect(rec.noted('v1')).toHaveLength(1);

      // Replace the strategy at run time: the next event runs the new actions.
      const [current] = await planner.strategies();
      await planner.replaceStrategy({ ...current!, then: [{ activity: 'note', args: { tag: 'v2' } }] });
      await planner.call({ name: 'samples' });
      expect(rec.noted('v1')).toHaveLength(1);
      expect(rec.noted('v2')).toHaveLength(1);

      // An invalid strategy is rejected by the update's validator and changes nothing.
      await expect(planner.addStrategy({ name: 'bad', when: { every: 'soon' }, then: [] })).rejects.toThrow(
        /strategy\.when\.every: expected a duration like "10s"/,
      );
      expect((await planner.strategies()).map((s) => s.name)).toEqual(['retrain']);
      await planner.stop();
    });
  });

  it('lets a planner tune another agent, and pauses/resumes an agent with its schedules', async () => {
    const { t, client, app, runUntil } = await bed.start('tune');
    await runUntil(async () => {
      const tracker = await client.start({
        app,
        name: 'tracker',
        parameters: { threshold: 1000 },
        strategies: [{ name: 'tick', when: { every: '1h' }, then: [] }],
      });
      const planner = await client.start({
        app,
        name: 'planner',
        strategies: [
          {
            name: 'retune',
            when: { call: 'retune' },
            then: [{ tune: { agent: 'tracker', parameters: { threshold: { $ref: 'event.args.threshold' } } } }],
          },
        ],
      });
      const outcome = await planner.call({ name: 'retune', args: { threshold: 250 } });
      expect(outcome.ok).toBe(true);
      expect((await tracker.state()).parameters).toEqual({ threshold: 250 });

      // a child workflow action (batch workflows, the detector) returns its result to the strategy
      await planner.addStrategy({
        name: 'spawn',
        when: { call: 'spawn' },
        then: [{ child: { workflowType: 'echoChildWorkflow', args: { $ref: 'event.args' } }, as: 'child' }],
      });
      const spawned = await planner.call({ name: 'spawn', args: { batch: 7 } });
      expect(spawned.runs[0]?.results).toEqual({ child: { echo: { batch: 7 } } });

      const scheduleId = triggerScheduleId(app, 'tracker', 'tick');
      expect(await tracker.pause()).toBe('paused');
      expect((await t.client.schedule.getHandle(scheduleId).describe()).state.paused).toBe(true);
      // a call while paused waits in the queue and runs on resume
      await tracker.signalCall({ name: 'nothing-listens', callId: 'while-paused' });
      await sleep(300);
      expect((await tracker.state()).pending).toBe(1);
      expect(await tracker.resume()).toBe('running');
      expect((await t.client.schedule.getHandle(scheduleId).describe()).state.paused).toBe(false);
      await eventually(
        async () => ((await tracker.state()).pending === 0 ? true : undefined),
        'the queued call to run',
      );
      // replacing a time-triggered strategy updates its schedule in place
      await tracker.replaceStrategy({ name: 'tick', when: { cron: '0 0 1 1 *' }, then: [] });
      const updated = await t.client.schedule.getHandle(scheduleId).describe();
      expect(updated.spec.intervals).toEqual([]);
      expect(updated.spec.calendars?.[0]).toMatchObject({
        month: [{ start: 'JANUARY', end: 'JANUARY', step: 1 }],
        dayOfMonth: [{ start: 1, end: 1, step: 1 }],
      });
      expect((await tracker.decisions(1))[0]).toMatchObject({
        outcome: 'no-strategy',
        event: { kind: 'call', name: 'nothing-listens' },
      });
      await tracker.stop();
      await planner.stop();
    });
  });

  it('removes its schedules when stopped', async () => {
    const { t, rec, client, app, runUntil } = await bed.start('stop');
    await runUntil(async () => {
      const handle = await client.start({
        app,
        name: 'ticker',
        strategies: [
          { name: 'tick', when: { every: '1s' }, then: [{ activity: 'note', args: { tag: 'tick' } }] },
          { name: 'tock', when: { cron: '*/2 * * * * * *' }, then: [{ activity: 'note', args: { tag: 'tock' } }] },
        ],
      });
      await eventually(() => (rec.noted('tick').length >= 2 ? true : undefined), 'ticks');
      const removed = await handle.stop('test');
      expect(removed.sort()).toEqual([
        triggerScheduleId(app, 'ticker', 'tick'),
        triggerScheduleId(app, 'ticker', 'tock'),
      ]);
      for (const id of removed)
        await expect(t.client.schedule.getHandle(id).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
      const described = await t.client.workflow.getHandle(agentWorkflowId(app, 'ticker')).describe();
      expect(described.status.name).toBe('COMPLETED');
      const ticks = rec.noted('tick').length;
      await sleep(2500);
      expect(rec.noted('tick').length).toBe(ticks);
    });
  });

  it('rejects an invalid spec with the path of the bad field and starts no workflow', async () => {
    const { t } = bed;
    const client = agents(t, uniqueTaskQueue('agents-invalid'));
    const app = uniqueApp('invalid');
    const spec = {
      app,
      name: 'broken',
      strategies: [
        { name: 'ok', when: { every: '10s' }, then: [] },
        { name: 'bad', when: { every: 'ten seconds' }, then: [{ activity: 'note' }] },
      ],
    };
    const error = await client.start(spec).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).issues).toEqual([
      'strategies[1].when.every: expected a duration like "10s", got "ten seconds"',
    ]);
    await expect(t.client.workflow.getHandle(agentWorkflowId(app, 'broken')).describe()).rejects.toBeInstanceOf(
      WorkflowNotFoundError,
    );
  });
});
