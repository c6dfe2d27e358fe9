import { describe, expect, it } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { Agent, RECENT_CALLS } from '../../../src/agents/state.js';
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
