import { describe, expect, it } from '@jest/globals';
import { decideThreshold, DecisionInputError, type TunerParams } from '../../../../src/apps/mlperf/decisions.js';
import { decideKedaThreshold, decideTuner, type KedaTunerDecision } from '../../../../src/apps/mlperf/keda-tuner.js';
import { surgeQueries } from '../../../../src/apps/mlperf/surge.js';

const keda: Partial<TunerParams> = {
  autoscaler: 'keda-qps',
  qosBound: 20,
  lowFraction: 0.6,
  highFraction: 0.9, // 18: bound × high / J
  targetFraction: 0.75, // 15: the threshold on a smooth load
  sustain: 2,
  cooldown: 2,
  stepFraction: 0.2,
  maxStep: 5,
  minThreshold: 1,
  maxThreshold: 20,
  initialThreshold: 6.7,
  decimals: 1,
  memorySeconds: 600,
  raiseEvidenceSeconds: 600,
};

/** The tuner over (J, evidence seconds) readings, carrying state and the applied threshold as the agent does. */
function run(series: Array<[number | null, number]>, params: Partial<TunerParams> = keda): KedaTunerDecision[] {
  let applied: number | null = null;
  let state: KedaTunerDecision['state'] | null = null;
  return series.map(([surge, evidenceSeconds]) => {
    const d = decideKedaThreshold({ observed: { surge, evidenceSeconds }, applied, state, params });
    state = d.state;
    if (d.change) applied = d.threshold;
    return d;
  });
}

describe('QoS tuner, keda-qps mode (threshold from the load surge)', () => {
  it('wants min(bound × target, bound × high / J): the target on a smooth load, headroom on a steep one', () => {
    const [smooth] = run([[1.05, 600]]);
    expect(smooth!.wanted).toBe(15);
    const [steep] = run([[3, 600]]);
    expect(steep!.wanted).toBe(6);
    // A surge below 1 (the load fell) is no reason for more than the target.
    expect(run([[0.5, 600]])[0]!.wanted).toBe(15);
    // Bounded by minThreshold.
    expect(run([[100, 600]])[0]!.wanted).toBe(1);
  });

  it('lowers at once to the wanted threshold after the hold, then cools down', () => {
    const d = run([
      [4, 60],
      [4, 65],
      [4, 70],
      [6, 75],
      [6, 80],
      [6, 85],
    ]);
    expect(d.map((x) => x.change)).toEqual([false, true, false, false, true, false]);
    expect(d[1]).toMatchObject({ from: 6.7, threshold: 4.5, direction: 'lower' });
    expect(d[1]!.reason).toContain('at once');
    // 6 → 3: the cooldown of two evaluations passed, two readings held.
    expect(d[4]).toMatchObject({ from: 4.5, threshold: 3 });
  });

  it('does not raise while the evidence is shorter than raiseEvidenceSeconds, then raises in bounded steps', () => {
    const flat = run([
      [1.1, 60],
      [1.1, 120],
      [1.1, 300],
      [1.1, 590],
    ]);
    expect(flat.every((x) => !x.change)).toBe(true);
    expect(flat[3]!.reason).toContain('no proof yet');
    const full = run([
      [1.1, 600],
      [1.1, 600],
      [1.1, 600],
      [1.1, 600],
      [1.1, 600],
      [1.1, 600],
      [1.1, 600],
      [1.1, 600],
    ]);
    const steps = full.filter((x) => x.change).map((x) => [x.from, x.threshold]);
    // wanted min(15, 18 / 1.1 = 16.4) = 15; each step at most 20 % of the threshold (and maxStep 5),
    // one every three evaluations (the cooldown of two).
    expect(steps).toEqual([
      [6.7, 8],
      [8, 9.6],
      [9.6, 11.5],
    ]);
    expect(full[1]!.direction).toBe('raise');
  });

  it('does not oscillate on noise: surges within the HPA tolerance of the current threshold hold', () => {
    // At T 6: J between 2.8 and 3.2 wants 5.6 to 6.4, within 10 % of 6.
    const noisy: Array<[number, number]> = [3, 2.8, 3.2, 2.9, 3.1, 2.85, 3.15, 3].map((j) => [j, 600]);
    const d = run(noisy, { ...keda, initialThreshold: 6 });
    expect(d.every((x) => !x.change)).toBe(true);
    // A reading alternating sides of the tolerance never holds for `sustain` evaluations in a row.
    const alternating: Array<[number, number]> = [1.1, 6, 1.1, 6, 1.1, 6].map((j) => [j, 600]);
    expect(run(alternating).every((x) => !x.change)).toBe(true);
  });

  it('holds without a reading (no load in the memory) and keeps no streak across it', () => {
    const d = run([
      [4, 60],
      [null, 60],
      [4, 60],
    ]);
    expect(d.map((x) => x.change)).toEqual([false, false, false]);
    expect(d[1]!.reason).toContain('no load in the memory');
  });

  it('rejects bad parameters with the name of the parameter', () => {
    const bad = (p: Partial<TunerParams>) => () =>
      decideKedaThreshold({ observed: { surge: 2 }, params: { ...keda, ...p } });
    expect(bad({ autoscaler: 'keda' as never })).toThrow(/autoscaler: expected hpa-cpu or keda-qps/);
    expect(bad({ qosMetric: 'p99' })).toThrow(/qosMetric: the keda-qps tuner keeps queries\/s per replica/);
    expect(bad({ reactionSeconds: 0 })).toThrow(/reactionSeconds: expected seconds > 0/);
    expect(bad({ memorySeconds: 10, reactionSeconds: 15 })).toThrow(
      /reactionSeconds 15 must be shorter than memorySeconds 10/,
    );
    expect(bad({ raiseEvidenceSeconds: -1 })).toThrow(/raiseEvidenceSeconds: expected seconds >= 0/);
    expect(bad({ minThreshold: 30 })).toThrow(DecisionInputError);
    // Each mode refuses the other's parameters instead of deciding on the wrong model.
    expect(() => decideThreshold({ observed: { qpsPerReplica: 10 }, params: keda })).toThrow(/decideKedaThreshold/);
    expect(() => decideKedaThreshold({ observed: { surge: 2 }, params: { ...keda, autoscaler: 'hpa-cpu' } })).toThrow(
      /autoscaler: decideKedaThreshold tunes keda-qps, got hpa-cpu/,
    );
  });

  it('starts from the same frame as the CPU mode: a fresh state, the applied threshold within the bounds, band and target', () => {
    const cpu: Partial<TunerParams> = { ...keda, autoscaler: 'hpa-cpu', minThreshold: 10, maxThreshold: 90 };
    for (const [applied, params, from] of [
      [null, keda, 6.7],
      [50, keda, 20],
      [0.5, keda, 1],
      [null, { ...cpu, initialThreshold: 30 }, 30],
      [95, cpu, 90],
      [5, cpu, 10],
    ] as const) {
      const input = { observed: { surge: 1, qpsPerReplica: 15 }, applied, params };
      const d = params.autoscaler === 'keda-qps' ? decideKedaThreshold(input) : decideThreshold(input);
      expect(d).toMatchObject({ from, band: { low: 12, high: 18 }, target: 15 });
      // The first evaluation starts a streak of its own direction and counts itself; no change before `sustain`.
      expect(d.state).toMatchObject({ streak: { count: 1 }, cooldownLeft: 0, evaluations: 1, changes: 0 });
      expect(d.change).toBe(false);
    }
    // A hold counts down a cooldown; a change restarts the streak and sets the full cooldown.
    const held = decideKedaThreshold({
      observed: { surge: 1 },
      applied: 15,
      state: { streak: { direction: 'lower', count: 4 }, cooldownLeft: 2, evaluations: 7, changes: 3 },
      params: keda,
    });
    expect(held.state).toEqual({
      streak: { direction: 'hold', count: 1 },
      cooldownLeft: 1,
      evaluations: 8,
      changes: 3,
    });
    const changed = decideKedaThreshold({
      observed: { surge: 3 },
      applied: 15,
      state: { streak: { direction: 'lower', count: 4 }, cooldownLeft: 0, evaluations: 7, changes: 3 },
      params: keda,
    });
    expect(changed).toMatchObject({ change: true, threshold: 6 });
    expect(changed.state).toEqual({
      streak: { direction: 'hold', count: 0 },
      cooldownLeft: 2,
      evaluations: 8,
      changes: 4,
    });
  });

  it('decideTuner dispatches on the autoscaler', () => {
    expect(decideTuner({ observed: { surge: 3 }, params: keda })).toMatchObject({ wanted: 6 });
    expect(decideTuner({ observed: { qpsPerReplica: 10 }, params: { initialThreshold: 50 } })).toMatchObject({
      metric: 'qps-per-replica',
      from: 50,
    });
  });
});

describe('the surge sensor query', () => {
  it("is one subquery over the service's answered queries/s, floored, with its evidence query", () => {
    const q = surgeQueries(
      {
        selector: 'namespace="ns",component="model-server"',
        window: '10s',
        reactionSeconds: 15,
        memorySeconds: 600,
        floorQps: 20,
      },
      600,
    );
    const load = 'sum(rate(scanflow_inference_requests_total{namespace="ns",component="model-server"}[10s]))';
    expect(q.load).toBe(load);
    expect(q.surge).toBe(`max_over_time((${load} / clamp_min(min_over_time(${load}[15s:2s]), 20))[600s:2s])`);
    expect(q.evidence).toBe(`count_over_time((${load})[600s:2s]) * 2`);
  });

  it('refuses a spliced selector, an empty one and bad numbers', () => {
    const a = { selector: 'job="x"', reactionSeconds: 15, memorySeconds: 600, floorQps: 20 };
    expect(() => surgeQueries({ ...a, selector: 'job="x"}) or vector(1' }, 600)).toThrow(
      /selector: expected label matchers/,
    );
    expect(() => surgeQueries({ ...a, selector: '' }, 600)).toThrow(
      /selector: expected the label matchers of the service/,
    );
    expect(() => surgeQueries({ ...a, floorQps: 0 }, 600)).toThrow(/floorQps: expected a number > 0/);
    expect(() => surgeQueries({ ...a, window: '10 s' }, 600)).toThrow(/window/);
  });
});
