/**
 * The generated tables of hostile agent input, pure: every malformed spec is refused by the
 * validator with a SpecError naming the field (never another exception, never accepted); every
 * malformed run-time update is refused by the agent's validators with the field path, and the
 * agent's state is exactly what it was. The counts are printed for the README.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { SpecError, validateAgentSpec } from '../../../src/agents/validate.js';
import { Agent } from '../../../src/agents/state.js';
import type { AgentCall } from '../../../src/agents/messages.js';
import type { Json, Strategy } from '../../../src/agents/spec.js';
import { baseSpec, hostileSpecs, hostileUpdates, namesAPath } from './hostile.js';

const tally = { specs: { tried: 0, rejected: 0 }, updates: { tried: 0, rejected: 0 } };
afterAll(() => {
  console.log(
    `hostile agent input (pure): ${tally.specs.tried} specs tried, ${tally.specs.rejected} rejected cleanly; ` +
      `${tally.updates.tried} run-time updates tried, ${tally.updates.rejected} rejected cleanly`,
  );
});

describe('hostile agent specs: each is refused with the path of the bad field', () => {
  it('the base spec of the table is valid', () => {
    expect(() => validateAgentSpec(baseSpec())).not.toThrow();
  });

  it.each(hostileSpecs().map((c) => [c.name, c] as const))('%s', (_name, c) => {
    tally.specs.tried += 1;
    let error: unknown;
    try {
      validateAgentSpec(c.spec(baseSpec()));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SpecError);
    const issues = (error as SpecError).issues;
    expect(issues.length).toBeGreaterThan(0);
    for (const line of issues) expect(namesAPath(line) ? line : `no path: ${line}`).toBe(line);
    expect(issues[0]!.startsWith(c.path) ? c.path : issues[0]).toBe(c.path);
    // messages stay short: a 100 kB value is not echoed back
    for (const line of issues) expect(line.length).toBeLessThan(1200);
    tally.specs.rejected += 1;
  });
});

describe('hostile run-time updates: each is refused by the validator, nothing changes', () => {
  const agent = new Agent(validateAgentSpec(baseSpec()), 'scanflow.hostile.target');
  const before = JSON.stringify({ state: agent.state, view: agent.view() });

  it.each(hostileUpdates().map((u) => [u.name, u] as const))('%s', (_name, u) => {
    tally.updates.tried += 1;
    const validate = () => {
      if (u.kind === 'setParameters') agent.checkParameters(u.input);
      else if (u.kind === 'addStrategy') agent.checkStrategy(u.input as Strategy, 'add');
      else if (u.kind === 'replaceStrategy') agent.checkStrategy(u.input as Strategy, 'replace');
      else if (u.kind === 'removeStrategy') agent.checkRemove(u.input);
      else agent.checkCall(u.input as AgentCall);
    };
    let error: unknown;
    try {
      validate();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    const message = (error as ApplicationFailure).message.replace(/^invalid (parameters|strategy|call): /, '');
    expect(message.startsWith(u.path) ? u.path : message).toBe(u.path);
    expect(message.length).toBeLessThan(1500);
    expect(JSON.stringify({ state: agent.state, view: agent.view() })).toBe(before);
    tally.updates.rejected += 1;
  });

  it('a malformed call sent as a signal is refused, counted and logged, not queued', () => {
    const a = new Agent(validateAgentSpec(baseSpec()), 'scanflow.hostile.target');
    const calls = hostileUpdates().filter((u) => u.kind === 'call');
    for (const u of calls) {
      const { refused } = a.acceptCall({ callId: 'x', ...(u.input as AgentCall) } as AgentCall & { callId: string });
      expect(refused).toMatch(/^invalid call: call\./);
    }
    expect(a.view()).toMatchObject({ pending: 0, refused: calls.length });
    expect(a.decisions().every((d) => d.outcome === 'dropped' && d.error?.startsWith('invalid call'))).toBe(true);
    expect(a.state.recentCalls).toEqual([]);
  });

  it('a tune from a strategy applies the same rules as setParameters', () => {
    expect(() => agent.setParameters({ a: [[[[{ $ref: 'nowhere' }]]]] } as unknown as Record<string, Json>)).toThrow(
      'parameters.a[0][0][0][0].$ref',
    );
    expect(agent.setParameters({ min: 5 })).toEqual({ min: 5 });
  });
});
