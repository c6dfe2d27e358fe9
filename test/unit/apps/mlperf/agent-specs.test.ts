import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mlperfAgents } from '../../../../src/apps/mlperf/agents.js';
import { validateAgentSpec } from '../../../../src/agents/validate.js';

describe('the MLPerf planners (Figs. 9–11)', () => {
  it('are valid planner specs', () => {
    const specs = mlperfAgents();
    expect(specs.map((s) => [s.app, s.name, s.template])).toEqual([
      ['mlperf', 'qos-tuner', 'planner'],
      ['mlperf', 'anti-affinity', 'planner'],
      ['mlperf', 'failover', 'planner'],
      ['mlperf', 'qos-tuner-keda', 'planner'],
    ]);
    for (const spec of specs) expect(validateAgentSpec(spec)).toEqual(spec);
  });

  it('match examples/agents/mlperf-*.json (scripts/mlperf-agent-examples.ts)', () => {
    for (const spec of mlperfAgents()) {
      const file = JSON.parse(
        readFileSync(new URL(`../../../../examples/agents/mlperf-${spec.name}.json`, import.meta.url), 'utf8'),
      );
      expect(file).toEqual({ $schema: '../../schemas/agent-spec.schema.json', ...JSON.parse(JSON.stringify(spec)) });
    }
  });

  it("hold a tuning for sustained evaluations, read the cost model's CPU, and keep every threshold a parameter", () => {
    const [tuner, anti, failover] = mlperfAgents();
    expect(tuner!.strategies[0]!.when).toEqual({ every: '15s' });
    expect(tuner!.parameters).toMatchObject({
      qosBound: 20,
      lowFraction: 0.6,
      highFraction: 0.9,
      targetFraction: 0.75,
      sustain: 3,
      cpuRequestCores: 0.5,
    });
    expect(JSON.stringify(tuner!.strategies[0]!.sense)).toContain('promCpuSecondsPerPod');
    expect(JSON.stringify(tuner!.strategies[0]!.then)).toContain('updateWorkflowReplica');
    expect(JSON.stringify(anti!.strategies[0]!.then)).toContain('updateExecutorAffinity');
    expect(JSON.stringify(anti!.strategies[0]!.if)).toContain('beliefs.separated');
    expect(failover!.parameters).toMatchObject({ holdSeconds: 30, primary: 'model-server', backup: 'backup' });
    expect(JSON.stringify(failover!.strategies[0]!.then)).toContain('updateWorkflowTraffic');
  });

  it('run the tuner on KEDA from the load surge sensor, its threshold in queries/s per replica (decimals 1)', () => {
    const keda = mlperfAgents()[3]!;
    expect(keda.strategies[0]!.when).toEqual({ every: '5s' });
    expect(keda.parameters).toMatchObject({
      autoscaler: 'keda-qps',
      qosBound: 20,
      initialThreshold: 6.7,
      decimals: 1,
      reactionSeconds: 15,
      memorySeconds: 600,
      surgeFloorQps: 20,
    });
    expect(JSON.stringify(keda.strategies[0]!.sense)).toContain('mlperfLoadSurge');
    expect(JSON.stringify(keda.strategies[0]!.then)).toContain('updateWorkflowReplica');
  });
});
