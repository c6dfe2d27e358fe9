import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mnistAgents } from '../../../src/apps/mnist/agents.js';
import { validateAgentSpec } from '../../../src/agents/validate.js';

describe('the MNIST agents (Table V)', () => {
  it('are valid specs, one per template', () => {
    const specs = mnistAgents();
    expect(specs.map((s) => [s.name, s.template])).toEqual([
      ['tracker', 'tracker'],
      ['checker', 'checker'],
      ['planner', 'planner'],
      ['executor', 'executor'],
    ]);
    for (const spec of specs) expect(validateAgentSpec(spec)).toEqual(spec);
  });

  it('match the example files the README starts with the temporal CLI (scripts/mnist-agent-examples.ts)', () => {
    for (const spec of mnistAgents()) {
      const file = JSON.parse(
        readFileSync(new URL(`../../../examples/agents/mnist-${spec.name}.json`, import.meta.url), 'utf8'),
      );
      expect(file).toEqual({ $schema: '../../schemas/agent-spec.schema.json', ...JSON.parse(JSON.stringify(spec)) });
    }
  });

  it('keep the thresholds as parameters an operator can tune', () => {
    const [tracker, , planner] = mnistAgents({
      interval: '1h',
      predictionThreshold: 1000,
      retrainThreshold: 100,
      labelsPerCheck: 100,
      pickMethod: 'kde',
      retrainEpochs: 4,
      seed: 1,
    });
    expect(tracker!.parameters.predictionThreshold).toBe(1000);
    expect(JSON.stringify(tracker!.strategies[0]!.if)).toContain('params.predictionThreshold');
    expect(JSON.stringify(planner!.strategies[0]!.if)).toContain('params.retrainThreshold');
    expect(planner!.strategies.map((s) => s.when)).toEqual([{ every: '1h' }, { every: '1h' }, { every: '1h' }]);
  });
});
