/**
 * Hostile agent input through the real dev server: the generated tables of test/unit/agents/hostile.ts
 * sent as run-time updates (and call signals) to a running agent, and as specs both through the
 * client (validated before anything starts) and straight to `agentWorkflow` (as `temporal workflow
 * start` would). Every one is rejected with a field path, nothing starts, nothing is half-applied.
 * Then the state limits: a strategy slower than its interval, a full queue, results too big to keep.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import {
  ScheduleNotFoundError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { AgentUpdateRejected, type AgentHandle } from '../../src/client/agents.js';
import { agentWorkflowId, triggerScheduleId } from '../../src/agents/conventions.js';
import { SpecError, validateAgentSpec } from '../../src/agents/validate.js';
import type { AgentCall } from '../../src/agents/messages.js';
import type { Json, Strategy } from '../../src/agents/spec.js';
import { baseSpec, hostileSpecs, hostileUpdates } from '../unit/agents/hostile.js';
import { agentTestBed, eventually, sleep, uniqueApp } from './helpers.js';

const tally = {
  updates: { tried: 0, rejected: 0 },
  signals: { tried: 0, refused: 0 },
  clientSpecs: { tried: 0, rejected: 0 },
  serverSpecs: { tried: 0, rejected: 0 },
};
afterAll(() => {
  console.log(
    `hostile agent input (dev server): ${tally.updates.tried} run-time updates tried, ${tally.updates.rejected} rejected with a field path; ` +
      `${tally.signals.tried} malformed call signals, ${tally.signals.refused} refused; ` +
      `${tally.clientSpecs.tried} specs through the client, ${tally.clientSpecs.rejected} rejected before anything started; ` +
      `${tally.serverSpecs.tried} specs straight to agentWorkflow, ${tally.serverSpecs.rejected} failed at once (non-retryable) with no schedule`,
  );
});

/** What must not change when an update is refused. */
async function snapshot(handle: AgentHandle) {
  const { parameters, scheduleIds, status, processed, pending } = await handle.state();
  return { parameters, scheduleIds, status, processed, pending, strategies: await handle.strategies() };
}

describe('hostile agent input through the dev server', () => {
  const bed = agentTestBed();

  it('refuses every malformed run-time update with its field path, changing nothing', async () => {
    const { client, app, rec, runUntil } = await bed.start('hostile-updates');
    rec.values.set('level', 3);
    await runUntil(async () => {
      const handle = await client.start(baseSpec(app));
      const before = await eventually(async () => {
        const s = await snapshot(handle);
        return s.scheduleIds.length === 4 ? s : undefined;
      }, 'the schedules');
      const started = Date.now();
      for (const u of hostileUpdates()) {
        tally.updates.tried += 1;
        const send = (): Promise<unknown> => {
          if (u.kind === 'setParameters') return handle.setParameters(u.input as Record<string, Json>);
          if (u.kind === 'addStrategy') return handle.addStrategy(u.input as Strategy);
          if (u.kind === 'replaceStrategy') return handle.replaceStrategy(u.input as Strategy);
          if (u.kind === 'removeStrategy') return handle.removeStrategy(u.input as string);
          return handle.call(u.input as AgentCall);
        };
        let error: unknown;
        try {
          await send();
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(AgentUpdateRejected);
        const message = (error as Error).message.replace(/^invalid (parameters|strategy|call): /, '');
        expect(message.startsWith(u.path) ? u.path : `${u.name}: ${message}`).toBe(u.path);
        tally.updates.rejected += 1;
      }
      const seconds = (Date.now() - started) / 1000;
      console.log(`${tally.updates.tried} hostile updates answered in ${seconds.toFixed(1)} s`);
      // nothing half-applied: parameters, strategies and schedules as they were
      expect(await snapshot(handle)).toEqual(before);
      for (const id of before.scheduleIds) await bed.t.client.schedule.getHandle(id).describe();

      // malformed calls as signals (which cannot be rejected): refused, counted, logged, not queued
      const calls = hostileUpdates().filter((u) => u.kind === 'call');
      for (const [i, u] of calls.entries()) {
        tally.signals.tried += 1;
        await handle.signalCall({ callId: `bad-${i}`, ...(u.input as AgentCall) });
      }
      const state = await eventually(async () => {
        const s = await handle.state();
        return s.refused >= calls.length ? s : undefined;
      }, 'the malformed signals to be refused');
      tally.signals.refused += state.refused;
      expect(state).toMatchObject({ refused: calls.length, pending: 0, processed: 0 });
      const dropped = (await handle.decisions()).filter((d) => d.outcome === 'dropped');
      expect(dropped).toHaveLength(calls.length);
      for (const [i, d] of dropped.entries()) {
        const error = (d.error ?? '').replace(/^invalid call: /, '');
        expect(error.startsWith(calls[i]!.path) ? calls[i]!.path : error).toBe(calls[i]!.path);
      }

      // the agent still works, and a valid change is applied whole
      expect(await handle.setParameters({ min: 2, extra: { nested: [1, 2] } })).toEqual({
        min: 2,
        extra: { nested: [1, 2] },
      });
      const outcome = await handle.call({ name: 'check', args: { n: 1 } });
      // the strategy ran (its second action signals an agent that does not exist here, so it ends 'failed')
      expect(outcome.runs[0]).toMatchObject({ strategy: 'check' });
      expect(rec.noted('check')).toHaveLength(1);
      await handle.stop();
    });
  });

  it('refuses every malformed spec: the client starts nothing, the workflow fails at once without a schedule', async () => {
    const { t } = bed;
    const { client, taskQueue, runUntil } = await bed.start('hostile-specs');
    const cases = hostileSpecs();
    // through the client: validated before anything reaches the server
    for (const c of cases) {
      tally.clientSpecs.tried += 1;
      const app = uniqueApp('bad');
      await expect(client.start(c.spec(baseSpec(app)))).rejects.toBeInstanceOf(SpecError);
      await expect(t.client.workflow.getHandle(agentWorkflowId(app, 'target')).describe()).rejects.toBeInstanceOf(
        WorkflowNotFoundError,
      );
      tally.clientSpecs.rejected += 1;
    }
    // straight to the workflow (like `temporal workflow start --input-file`): the ones a client can serialize
    // (a spec JSON changes, like Infinity becoming null, is not hostile any more once sent)
    const sendable = cases.filter((c) => {
      try {
        validateAgentSpec(JSON.parse(JSON.stringify(c.spec(baseSpec('x')))));
        return false;
      } catch (err) {
        return err instanceof SpecError;
      }
    });
    await runUntil(async () => {
      const results = await Promise.all(
        sendable.map(async (c, i) => {
          const app = uniqueApp(`raw${i}`);
          const handle: WorkflowHandle = await t.client.workflow.start('agentWorkflow', {
            workflowId: agentWorkflowId(app, 'target'),
            taskQueue,
            args: [c.spec(baseSpec(app))],
          });
          let error: unknown;
          try {
            await handle.result();
          } catch (err) {
            error = err;
          }
          return { c, app, error };
        }),
      );
      for (const { c, app, error } of results) {
        tally.serverSpecs.tried += 1;
        expect(error).toBeInstanceOf(WorkflowFailedError);
        const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
        const why = `${c.name}: ${cause?.message}: ${(cause?.cause as Error | undefined)?.message}`;
        expect(cause instanceof ApplicationFailure ? [cause.type, cause.nonRetryable] : why).toEqual([
          'InvalidAgentSpec',
          true,
        ]);
        const first = cause.message.replace(/^invalid agent spec: /, '');
        expect(first.startsWith(c.path) ? c.path : `${c.name}: ${first.slice(0, 200)}`).toBe(c.path);
        for (const strategy of ['tick', 'nightly'])
          await expect(
            t.client.schedule.getHandle(triggerScheduleId(app, 'target', strategy)).describe(),
          ).rejects.toBeInstanceOf(ScheduleNotFoundError);
        tally.serverSpecs.rejected += 1;
      }
    });
  });

  it('refuses a tune with a value the spec rules refuse, once and for good, leaving the target as it was', async () => {
    const { client, app, runUntil } = await bed.start('hostile-tune');
    await runUntil(async () => {
      const target = await client.start({ app, name: 'target', parameters: { min: 1 }, strategies: [] });
      const planner = await client.start({
        app,
        name: 'planner',
        parameters: { mine: 1 },
        strategies: [
          {
            name: 'tune-other',
            when: { call: 'other' },
            then: [{ tune: { agent: 'target', parameters: { min: { $ref: 'event.args.v' } } } }],
          },
          {
            name: 'tune-self',
            when: { call: 'self' },
            then: [{ tune: { parameters: { mine: { $ref: 'event.args.v' } } } }],
          },
        ],
      });
      const tooLong = 'x'.repeat(20_000); // a parameter string over the 16 KiB limit
      const started = Date.now();
      const other = await planner.call({ name: 'other', args: { v: tooLong } });
      const self = await planner.call({ name: 'self', args: { v: tooLong } });
      const seconds = (Date.now() - started) / 1000;
      expect(other.runs[0]).toMatchObject({ outcome: 'failed' });
      expect(self.runs[0]).toMatchObject({ outcome: 'failed' });
      const errors = (await planner.decisions()).map((d) => d.error ?? '');
      expect(errors[0]).toContain('parameters.min: expected a string of at most 16384 characters');
      expect(errors[1]).toContain('parameters.mine: expected a string of at most 16384 characters');
      // not retried: the remote update was refused once (5 attempts with backoff would take 15 s or more)
      expect(seconds).toBeLessThan(15);
      expect((await target.state()).parameters).toEqual({ min: 1 });
      expect((await planner.state()).parameters).toEqual({ mine: 1 });
      await Promise.all([target.stop(), planner.stop()]);
    });
  });
});

describe('bounded agent state on the dev server', () => {
  const bed = agentTestBed();

  it('coalesces the fires of a strategy slower than its interval, and refuses calls when the queue is full', async () => {
    const { client, app, runUntil } = await bed.start('overflow');
    await runUntil(async () => {
      const handle = await client.start({
        app,
        name: 'slow',
        strategies: [
          { name: 'crawl', when: { every: '1s' }, then: [{ activity: 'pause', args: { ms: 6000 } }] },
          { name: 'take', when: { call: 'take' }, then: [{ activity: 'note', args: { tag: 'take' } }] },
        ],
      });
      const state = await eventually(
        async () => {
          const s = await handle.state();
          return s.coalesced >= 3 ? s : undefined;
        },
        'fires to coalesce',
        60_000,
      );
      // at most 3 fires of the strategy wait; the rest were coalesced and counted
      expect(state.pending).toBeLessThanOrEqual(3);
      await handle.pause();
      await sleep(500);
      // calls of 60 kB each: the 256 kB queue takes four (plus the queued fires), then refuses
      const big = 'x'.repeat(60_000);
      const refusals: string[] = [];
      for (let i = 0; i < 8; i++) {
        try {
          await Promise.race([
            handle.call({ name: 'take', args: { big }, callId: `take-${i}` }),
            sleep(1500).then(() => 'queued'),
          ]);
        } catch (err) {
          expect(err).toBeInstanceOf(AgentUpdateRejected);
          expect((err as AgentUpdateRejected).type).toBe('AgentQueueFull');
          refusals.push((err as Error).message);
        }
      }
      expect(refusals.length).toBeGreaterThanOrEqual(3);
      expect(refusals[0]).toMatch(/the agent's queue is full \(\d+ bytes waiting, at most 262144\)/);
      const view = await handle.state();
      expect(view.pendingBytes).toBeLessThanOrEqual(256 * 1024);
      console.log(
        `queue overflow: ${view.coalesced} fires coalesced, ${refusals.length} calls refused, ${view.pending} events (${view.pendingBytes} bytes) waiting`,
      );
      await handle.stop();
    });
  });

  it('keeps continuing-as-new when results are far bigger than what it keeps (no payload over the limit)', async () => {
    const { client, app, rec, runUntil } = await bed.start('big');
    await runUntil(async () => {
      const handle = await client.start({
        app,
        name: 'hoarder',
        decisionLogSize: 1000,
        strategies: [
          {
            name: 'hoard',
            when: { call: 'hoard' },
            then: [{ activity: 'big', args: { bytes: 300_000, n: { $ref: 'event.args.n' } }, as: 'blob' }],
          },
        ],
      });
      const total = 40;
      let first: unknown;
      for (let i = 0; i < total; i++) {
        if (i === 0) first = await handle.call({ name: 'hoard', args: { n: i }, callId: `h-${i}` });
        else await handle.signalCall({ name: 'hoard', args: { n: i }, callId: `h-${i}` });
      }
      // the waiting caller got the whole result; the remembered copy is trimmed
      expect(JSON.stringify(first).length).toBeGreaterThan(300_000);
      await eventually(
        async () => ((await handle.state()).processed >= total ? true : undefined),
        'every call to be processed',
        120_000,
      );
      const state = await handle.state();
      expect(state.generations).toBeGreaterThanOrEqual(1);
      const decisions = await handle.decisions();
      expect(JSON.stringify(decisions).length).toBeLessThanOrEqual(256 * 1024);
      expect(decisions.at(-1)?.actions[0]?.result).toEqual({ $truncated: expect.any(Number) });
      const again = await handle.call({ name: 'hoard', args: { n: 0 }, callId: 'h-0' });
      expect(again.duplicate).toBe(true);
      expect(rec.calls.filter((c) => c.activity === 'big')).toHaveLength(total);
      console.log(
        `big results: ${total} results of 300 kB, ${state.generations} continue-as-new, decision log ${JSON.stringify(decisions).length} bytes`,
      );
      await handle.stop();
    });
  });
});
