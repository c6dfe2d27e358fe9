import { describe, expect, it } from '@jest/globals';
import { mnistAgents } from '../../../src/apps/mnist/agents.js';
import { parseDemoOptions } from '../../../src/apps/mnist/demo-options.js';

const triggers = (agents: ReturnType<typeof mnistAgents>, name: string) =>
  (agents.find((a) => a.name === name)?.strategies ?? []).map((s) => s.when);

describe("the planner's own trigger period", () => {
  it('the demo runs the planner at half the interval by default, the tracker at the interval', () => {
    const o = parseDemoOptions([]);
    if (o === 'help') throw new Error('unexpected help');
    expect(o.agents).toMatchObject({ interval: '12s', plannerInterval: '6000ms' });
    const agents = mnistAgents(o.agents);
    expect(triggers(agents, 'tracker')).toEqual([{ every: '12s' }]);
    expect(triggers(agents, 'planner')).toEqual([{ every: '6000ms' }, { every: '6000ms' }, { every: '6000ms' }]);
  });

  it('takes --planner-interval-seconds, and without plannerInterval the planner keeps the interval', () => {
    const o = parseDemoOptions(['--interval-seconds', '10', '--planner-interval-seconds', '2.5']);
    if (o === 'help') throw new Error('unexpected help');
    expect(o.agents.plannerInterval).toBe('2500ms');
    const { plannerInterval: _omitted, ...rest } = o.agents;
    expect(triggers(mnistAgents(rest), 'planner')).toEqual([{ every: '10s' }, { every: '10s' }, { every: '10s' }]);
  });

  it('refuses a planner period outside 1 s to the interval, naming the flag', () => {
    expect(() => parseDemoOptions(['--planner-interval-seconds', '0.5'])).toThrow(
      /--planner-interval-seconds must be a number from 1 to the interval \(12\), got "0.5"/,
    );
    expect(() => parseDemoOptions(['--planner-interval-seconds', '13'])).toThrow(/--planner-interval-seconds/);
    expect(() => parseDemoOptions(['--planner-interval-seconds', 'soon'])).toThrow(/--planner-interval-seconds/);
  });
});
