import { describe, expect, it } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { Agent, RECENT_CALLS, beliefProblem } from '../../../src/agents/state.js';
import { STATE_LIMITS } from '../../../src/agents/limits.js';
import { validateAgentSpec } from '../../../src/agents/validate.js';

const spec = () =>
  validateAgentSpec({
    app: 'demo',
    name: 'keeper',
    template: 'checker',
    parameters: { min: 1 },
    decisionLogSize: 3,
    strategies: [
      { name: 'tick', when: { every: '10s' }, then: [] },
      { name: 'check', when: { call: 'check' }, then: [] },
      { name: 'check-too', when: { call: 'check' }, then: [] },
    ],
  });
const newAgent = () => new Agent(spec(), 'scanflow.demo.keeper');

describe('the agent state', () => {
  it('queues triggers and calls in order, and a repeated call id once', () => {
    const agent = newAgent();
    agent.acceptTrigger({ strategy: 'tick', firedAt: '2026-01-01T00:00:00Z' });
    const first = agent.acceptCall({ name: 'check', callId: 'c1' });
    const again = agent.acceptCall({ name: 'check', callId: 'c1' });
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ entry: first.entry, duplicate: true });
    expect(agent.queue.map((e) => [e.kind, e.seq])).toEqual([
      ['trigger', 1],
      ['call', 2],
    ]);
    expect(agent.ready).toBe(true);
    expect(agent.pause()).toBe(true);
    expect(agent.pause()).toBe(false);
    expect(agent.ready).toBe(false);
    expect(agent.resume()).toBe(true);
  });

  it('selects the strategy of a schedule, or every receiver of a call', () => {
    const agent = newAgent();
    agent.acceptTrigger({ strategy: 'tick', firedAt: '2026-01-01T00:00:00Z' });
    agent.acceptCall({ name: 'check', callId: 'c1' });
    agent.acceptCall({ name: 'nobody', callId: 'c2' });
    expect(agent.queue.map((e) => agent.strategiesFor(e).map((s) => s.name))).toEqual([
      ['tick'],
      ['check', 'check-too'],
      [],
    ]);
  });

  it('answers a caller when its event is finished; no strategy is a failed call', () => {
    const agent = newAgent();
    const { entry } = agent.acceptCall({ name: 'nobody', callId: 'c1' });
    agent.finish(agent.next()!, []);
    expect(entry.outcome).toEqual({
      callId: 'c1',
      duplicate: false,
      ok: false,
      runs: [{ strategy: null, outcome: 'no-strategy', results: {} }],
    });
    expect(agent.decisions()).toMatchObject([{ outcome: 'no-strategy', strategy: null, event: { callId: 'c1' } }]);
    const ok = agent.acceptCall({ name: 'check', callId: 'c2' });
    agent.finish(agent.next()!, [{ strategy: 'check', outcome: 'constraint-false', results: {} }]);
    expect(ok.entry.outcome?.ok).toBe(true);
    expect(agent.view().processed).toBe(2);
  });

  it('keeps a bounded decision log and a bounded memory of call ids', () => {
    const agent = newAgent();
    for (let i = 0; i < 5; i++) {
      agent.acceptCall({ name: 'nobody', callId: `c${i}` });
      agent.finish(agent.next()!, []);
    }
    expect(agent.decisions().map((d) => d.seq)).toEqual([3, 4, 5]);
    expect(agent.decisions(1).map((d) => d.seq)).toEqual([5]);
    for (let i = 5; i < RECENT_CALLS + 10; i++) {
      agent.acceptCall({ name: 'nobody', callId: `c${i}` });
      agent.finish(agent.next()!, []);
    }
    expect(agent.state.recentCalls).toHaveLength(RECENT_CALLS);
    expect(agent.acceptCall({ name: 'nobody', callId: 'c0' }).duplicate).toBe(false); // forgotten
    expect(agent.acceptCall({ name: 'nobody', callId: `c${RECENT_CALLS}` }).duplicate).toBe(true);
  });

  it('drops the queue on stop and answers waiting callers', () => {
    const agent = newAgent();
    const { entry } = agent.acceptCall({ name: 'check', callId: 'c1' });
    agent.acceptTrigger({ strategy: 'tick', firedAt: '2026-01-01T00:00:00Z' });
    agent.requestStop('');
    expect(agent.stopping).toBe(true);
    expect(() => agent.checkCall({ name: 'check' })).toThrow('agent scanflow.demo.keeper is stopping');
    agent.dropQueued();
    agent.markStopped();
    expect(entry.outcome).toMatchObject({ ok: false, runs: [{ outcome: 'dropped' }] });
    expect(agent.decisions().map((d) => [d.outcome, d.error])).toEqual([
      ['dropped', 'agent stopped: stop requested'],
      ['dropped', 'agent stopped: stop requested'],
    ]);
    expect(agent.view()).toMatchObject({ status: 'stopped', pending: 0 });
  });

  it('carries state, queued events and remembered calls across continue-as-new', () => {
    const agent = newAgent();
    agent.acceptCall({ name: 'check', callId: 'c1' });
    agent.state.beliefs.level = 7;
    const next = new Agent(spec(), 'scanflow.demo.keeper', JSON.parse(JSON.stringify(agent.carry())));
    expect(next.view()).toEqual({ ...agent.view(), generations: 1 });
    expect(next.queue).toEqual(agent.queue);
    expect(next.acceptCall({ name: 'check', callId: 'c1' }).duplicate).toBe(true);
  });

  it('changes strategies and parameters, refusing bad changes with typed failures', () => {
    const agent = newAgent();
    agent.addStrategy({ name: 'extra', when: { call: 'extra' }, then: [] });
    agent.removeStrategy('tick');
    agent.replaceStrategy({ name: 'check', when: { call: 'other' }, then: [] });
    expect(agent.strategyNames()).toEqual(['check', 'check-too', 'extra']);
    const failure = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        return err instanceof ApplicationFailure ? [err.type, err.message] : err;
      }
      return undefined;
    };
    expect(failure(() => agent.addStrategy({ name: 'extra', when: { call: 'x' }, then: [] }))).toEqual([
      'InvalidAgentSpec',
      'strategy.name: "extra" already exists (use replaceStrategy)',
    ]);
    expect(failure(() => agent.removeStrategy('tick'))).toEqual(['UnknownStrategy', 'no strategy "tick" to remove']);
    expect(failure(() => agent.checkStrategy({ name: 'bad', when: { every: 'soon' }, then: [] }, 'add'))).toEqual([
      'InvalidAgentSpec',
      'invalid strategy: strategy.when.every: expected a duration like "10s", got "soon"',
    ]);
    expect(failure(() => agent.checkParameters([1]))).toEqual([
      'InvalidAgentSpec',
      'invalid parameters: parameters: expected an object of name → value, got a list',
    ]);
    expect(agent.setParameters({ max: 2 })).toEqual({ min: 1, max: 2 });
  });

  it('builds its view and its search attributes in one place each', () => {
    const agent = newAgent();
    expect(agent.view()).toEqual({
      workflowId: 'scanflow.demo.keeper',
      app: 'demo',
      agent: 'keeper',
      template: 'checker',
      status: 'running',
      beliefs: {},
      parameters: { min: 1 },
      pending: 0,
      pendingBytes: 0,
      processed: 0,
      coalesced: 0,
      refused: 0,
      generations: 0,
      scheduleIds: [],
    });
    agent.pause();
    expect(agent.searchAttributes().map(({ key, value }) => [key.name, value])).toEqual([
      ['ScanflowKind', 'agent'],
      ['ScanflowApp', 'demo'],
      ['ScanflowAgent', 'keeper'],
      ['ScanflowTemplate', 'checker'],
      ['ScanflowState', 'paused'],
    ]);
  });
});

describe('the agent state stays bounded (limits.ts)', () => {
  const fire = (strategy: string) => ({ strategy, firedAt: '2026-01-01T00:00:00Z' });

  it('coalesces fires of a strategy slower than its interval, counting them', () => {
    const agent = newAgent();
    for (let i = 0; i < 50; i++) agent.acceptTrigger(fire('tick'));
    expect(agent.view()).toMatchObject({
      pending: STATE_LIMITS.firesPerStrategy,
      coalesced: 50 - STATE_LIMITS.firesPerStrategy,
    });
    agent.next();
    expect(agent.acceptTrigger(fire('tick'))).toBe(true);
  });

  it('refuses calls once the queue is full (count or bytes), with a clear error, and keeps no id of them', () => {
    const agent = newAgent();
    const big = 'x'.repeat(60_000);
    const results = [...Array(6).keys()].map((i) =>
      agent.acceptCall({ name: 'check', args: { big }, callId: `b${i}` }),
    );
    expect(results.filter((r) => r.refused)).toHaveLength(2);
    expect(results[5]!.refused).toMatch(/^the agent's queue is full \(\d+ bytes waiting, at most 262144\)/);
    expect(() => agent.checkCall({ name: 'check', args: { big } })).toThrow("the agent's queue is full");
    expect(agent.view()).toMatchObject({ pending: 4, refused: 2 });
    expect(agent.acceptCall({ name: 'check', callId: 'b5' }).duplicate).toBe(false);
    const small = newAgent();
    for (let i = 0; i < STATE_LIMITS.queueEvents; i++) small.acceptCall({ name: 'check', callId: `s${i}` });
    expect(small.acceptCall({ name: 'check', callId: 'one-more' }).refused).toMatch(/1000 events waiting/);
  });

  it('caps decisions and remembered outcomes by size; a waiting caller still gets the whole outcome', () => {
    const agent = new Agent({ ...spec(), decisionLogSize: 1000 }, 'scanflow.demo.keeper');
    const blob = 'x'.repeat(100_000);
    for (let i = 0; i < 30; i++) {
      const { entry } = agent.acceptCall({ name: 'check', callId: `c${i}` }, true);
      const event = agent.next()!;
      agent.record({
        seq: event.seq,
        at: 'now',
        event,
        strategy: 'check',
        observed: { blob },
        constraint: true,
        actions: [{ action: 'activity big', ok: true, result: { blob } }],
        outcome: 'acted',
      });
      agent.finish(event, [{ strategy: 'check', outcome: 'acted', results: { blob } }]);
      expect(JSON.stringify(agent.takeOutcome(entry, false)).length).toBeGreaterThan(100_000);
      expect(entry.outcome?.runs[0]?.results).toEqual({ blob: { $truncated: 100_002 } });
    }
    expect(JSON.stringify(agent.state.decisions).length).toBeLessThanOrEqual(STATE_LIMITS.decisionsBytes);
    expect(agent.state.decisions.at(-1)?.observed).toEqual({ blob: { $truncated: 100_002 } });
    expect(JSON.stringify(agent.carry()).length).toBeLessThan(STATE_LIMITS.carryBytes);
  });

  it('keeps no belief too large to carry', () => {
    expect(beliefProblem({}, 'x', 'y'.repeat(70_000))).toMatch(
      /^x: a result of 70002 bytes cannot be kept as a belief/,
    );
    const beliefs = Object.fromEntries([...Array(4)].map((_, i) => [`b${i}`, 'y'.repeat(60_000)]));
    expect(beliefProblem(beliefs, 'more', 'y'.repeat(60_000))).toMatch(/^more: the beliefs would take/);
    expect(beliefProblem({}, 'x', { n: 1 })).toBeUndefined();
  });

  it('continues an agent carried by an older version (no counters, spec inside the state)', () => {
    const agent = newAgent();
    agent.acceptCall({ name: 'check', callId: 'c1' });
    const { coalesced: _c, refused: _r, ...old } = { ...agent.state, spec: spec() };
    const next = new Agent(spec(), 'scanflow.demo.keeper', { state: old, pending: [...agent.queue] });
    expect(next.view()).toMatchObject({ coalesced: 0, refused: 0, pending: 1, generations: 1 });
  });
});
