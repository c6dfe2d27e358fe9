import { describe, expect, it } from '@jest/globals';
import {
  decideFailover,
  decideInterference,
  decideThreshold,
  DecisionInputError,
  type FailoverDecision,
  type TunerDecision,
  type TunerInput,
  type TunerParams,
} from '../../../../src/apps/mlperf/decisions.js';

const tuning: Partial<TunerParams> = {
  qosMetric: 'qps-per-replica',
  qosBound: 20,
  lowFraction: 0.6, // < 12: slack
  highFraction: 0.9, // > 18: at risk
  sustain: 3,
  cooldown: 2,
  stepFraction: 0.2,
  maxStep: 10,
  minThreshold: 5,
  maxThreshold: 40,
  initialThreshold: 15,
  decimals: 0,
};

/** Runs the tuner over a series the way the agent does: state and applied threshold carried over. */
function tune(series: Array<number | null>, params: Partial<TunerParams> = tuning): TunerDecision[] {
  let applied: number | null = null;
  let state: TunerDecision['state'] | null = null;
  return series.map((v) => {
    const d = decideThreshold({ observed: { qpsPerReplica: v }, applied, state, params });
    state = d.state;
    if (d.change) applied = d.threshold;
    return d;
  });
}

/** Three evaluations of the same observation from a fresh state: the last one (sustain is 3). */
function tune3(o: TunerInput['observed'], params: Partial<TunerParams>): TunerDecision {
  let state: TunerDecision['state'] | null = null;
  let d!: TunerDecision;
  for (let i = 0; i < 3; i++) {
    d = decideThreshold({ observed: o, state, params });
    state = d.state;
  }
  return d;
}

describe('QoS tuner decision', () => {
  it('raises the threshold only after sustained low per-replica load, in bounded steps with a cooldown', () => {
    const d = tune([5, 5, 5, 5, 5, 5, 5, 5, 5]);
    expect(d.map((x) => x.change)).toEqual([false, false, true, false, false, true, false, false, true]);
    expect(d.filter((x) => x.change).map((x) => [x.from, x.threshold])).toEqual([
      [15, 18],
      [18, 22],
      [22, 26],
    ]);
    expect(d[2]!.reason).toContain('slack');
  });

  it('lowers it on sustained high load and stops at the bound', () => {
    const d = tune(Array(30).fill(25));
    const changes = d.filter((x) => x.change).map((x) => x.threshold);
    expect(changes).toEqual([12, 10, 8, 6, 5]);
    expect(d.at(-1)!.reason).toContain('at its bound');
  });

  it('caps a step at maxStep', () => {
    const d = tune([1, 1, 1], { ...tuning, initialThreshold: 40, maxThreshold: 100, stepFraction: 1, maxStep: 7 });
    expect(d[2]).toMatchObject({ change: true, from: 40, threshold: 47 });
  });

  it('does not oscillate on noise: alternating spikes, values in the dead band, missing scrapes', () => {
    const alternating = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 30 : 4));
    expect(tune(alternating).filter((x) => x.change)).toEqual([]);
    const twoOfThree = Array.from({ length: 40 }, (_, i) => (i % 3 === 2 ? 15 : 30));
    expect(tune(twoOfThree).filter((x) => x.change)).toEqual([]);
    const inBand = Array.from({ length: 40 }, (_, i) => 12.5 + 5 * Math.abs(Math.sin(i)));
    expect(tune(inBand).filter((x) => x.change)).toEqual([]);
    // A gap (no traffic) breaks a streak instead of counting for either side.
    expect(tune([5, 5, null, 5, 5, null, 5, 5]).filter((x) => x.change)).toEqual([]);
  });

  it('steps in proportion to the error, within the bound', () => {
    // Target 15 (the middle of [12, 18]); steps may go half the threshold, at most 20 points.
    const wide = { ...tuning, initialThreshold: 20, maxThreshold: 100, stepFraction: 0.5, maxStep: 20 };
    // 10 per replica: the threshold for 15 is 20 × 15 / 10 = 30 (the bound, 10, allows it).
    expect(tune([10, 10, 10], wide)[2]).toMatchObject({ change: true, from: 20, threshold: 30, wanted: 30 });
    // 11 per replica: a smaller error, a smaller step (20 × 15 / 11 = 27.3).
    expect(tune([11, 11, 11], wide)[2]).toMatchObject({ change: true, from: 20, threshold: 27 });
    // 40 per replica: 20 × 15 / 40 = 7.5, but a step goes at most half the threshold: 10.
    expect(tune([40, 40, 40], wide)[2]).toMatchObject({ change: true, from: 20, threshold: 10, wanted: 7.5 });
  });

  // `n` replicas at `qps` each on a 0.1-core request, costing base + slope × qps % of it.
  const observed = (qps: number, slope: number, base = 0, n = 2) => {
    const names = Array.from({ length: n }, (_, k) => `pod-${k}`);
    return {
      qpsPerReplica: qps,
      perReplica: names.map((replica) => ({ replica, qps })),
      cpu: names.map((pod) => ({ pod, cores: ((base + slope * qps) * 0.1) / 100 })),
    };
  };
  const modelled = {
    ...tuning,
    initialThreshold: 50,
    maxThreshold: 90,
    stepFraction: 0.6,
    maxStep: 30,
    cpuRequestCores: 0.1,
  };

  it('with the CPU cost of a query, lowers to the threshold that gives the target per replica', () => {
    // 1.6 % of the request per query/s: the HPA keeps 15 per replica at 24 %.
    const d = tune3(observed(20, 1.6), modelled);
    expect(d).toMatchObject({ change: true, direction: 'lower', from: 50, threshold: 24 });
    expect(d.model).toEqual({
      kind: 'ratio',
      utilisationPerQps: 1.6,
      baseUtilisation: 0,
      replicas: 2,
      spread: 0,
      threshold: 24,
    });
    expect(d.reason).toContain('cost 1.6 % per query/s');
  });

  it('with the cost model, does not chase the autoscaler nor wind up at its replica bounds', () => {
    // Already at the model's threshold while the load per replica is high (the HPA adding pods,
    // or at its maximum): no change, however long it lasts.
    let state: TunerDecision['state'] | null = null;
    const high: TunerDecision[] = [];
    for (let i = 0; i < 12; i++) {
      const d = decideThreshold({ observed: observed(30, 1.6), applied: 24, state, params: modelled });
      state = d.state;
      high.push(d);
    }
    expect(high.some((x) => x.change)).toBe(false);
    expect(high.slice(2).every((x) => /catching up or at its replica bound/.test(x.reason))).toBe(true);
    let applied: number | null = 20;
    state = null;
    // Low load at the minimum replicas (4 and 10 per replica in turn): it raises to the fitted
    // threshold and stops there, where the proportional rule would climb to the maximum and be far
    // off when the load comes back.
    const raised: number[] = [];
    const reasons: string[] = [];
    for (let i = 0; i < 20; i++) {
      const d = decideThreshold({ observed: observed(i % 2 ? 10 : 4, 1.6), applied, state, params: modelled });
      state = d.state;
      reasons.push(d.reason);
      if (d.change) raised.push((applied = d.threshold));
    }
    expect(raised).toEqual([24]);
    // Not on the ratio alone: the raise waited for the fit.
    expect(reasons[2]).toContain('not fitted yet');
  });

  it('fits the cost at no load and settles there instead of oscillating (a simulated HPA in the loop)', () => {
    // The real nodes: a replica idles at ~30 % of its 100m request and adds ~1.5 % per query/s, so
    // the threshold for 15 queries/s per replica is 52.5 %; a ratio read at 10 per replica says 67.5.
    const loads = [20, 60, 100, 60, 20].flatMap((l, k) => Array<number>([12, 12, 15, 9, 12][k]!).fill(l));
    for (const start of [20, 50, 80]) {
      let replicas = 1;
      let applied = start;
      let state: TunerDecision['state'] | null = null;
      const changes: TunerDecision[] = [];
      for (const load of loads) {
        const q = load / replicas;
        const d = decideThreshold({
          observed: observed(q, 1.5, 30, replicas),
          applied,
          state,
          params: { ...modelled, initialThreshold: start, sustain: 2, cooldown: 2 },
        });
        state = d.state;
        if (d.change) changes.push(d);
        applied = d.threshold;
        // The HPA between two evaluations: ceil(replicas × utilisation / threshold) beyond its 10 % tolerance.
        const ratio = (30 + 1.5 * q) / applied;
        if (Math.abs(ratio - 1) > 0.1) replicas = Math.min(6, Math.max(1, Math.ceil(replicas * ratio)));
      }
      expect(Math.abs(applied - 52.5)).toBeLessThanOrEqual(0.1 * 52.5 + 1);
      // One way to the fitted threshold: no lower after a raise, no raise after a lower.
      const turns = changes.filter((d, k) => k > 0 && d.direction !== changes[k - 1]!.direction);
      expect(turns).toEqual([]);
      expect(changes.length).toBeLessThanOrEqual(3);
    }
  });

  it('leaves replicas that do not serve yet out of the cost (a new pod burns CPU starting up)', () => {
    const o = observed(20, 1.6);
    o.perReplica.push({ replica: 'new', qps: 0 });
    o.cpu.push({ pod: 'new', cores: 0.3 });
    expect(tune3(o, modelled).model).toMatchObject({ utilisationPerQps: 1.6, replicas: 2 });
    // Without CPU series the tuner falls back to the proportional step.
    expect(tune3({ qpsPerReplica: 20, perReplica: o.perReplica, cpu: [] }, modelled)).toMatchObject({
      model: null,
      wanted: 37.5,
    });
  });

  it('refuses a step target outside the dead band', () => {
    expect(() => decideThreshold({ observed: {}, params: { targetFraction: 0.95 } })).toThrow(/targetFraction/);
    expect(() => decideThreshold({ observed: {}, params: { cpuRequestCores: -1 } })).toThrow(/cpuRequestCores/);
  });

  it('reads p99 when the requirement is on latency', () => {
    const d = tune([null, null, null], { ...tuning, qosMetric: 'p99', qosBound: 0.1 });
    expect(d.every((x) => !x.change)).toBe(true);
    let state: TunerDecision['state'] | null = null;
    let last!: TunerDecision;
    for (let i = 0; i < 3; i++) {
      last = decideThreshold({
        observed: { qpsPerReplica: 1, p99: 0.2 },
        state,
        params: { ...tuning, qosMetric: 'p99', qosBound: 0.1 },
      });
      state = last.state;
    }
    expect(last).toMatchObject({ change: true, direction: 'lower', metric: 'p99', value: 0.2 });
  });

  it('refuses a dead band narrower than the HPA tolerance and other bad parameters', () => {
    expect(() =>
      decideThreshold({ observed: { qpsPerReplica: 1 }, params: { lowFraction: 0.85, highFraction: 0.9 } }),
    ).toThrow(/HPA's tolerance/);
    expect(() => decideThreshold({ observed: {}, params: { sustain: 0 } })).toThrow(DecisionInputError);
    expect(() => decideThreshold({ observed: {}, params: { qosMetric: 'cpu' as never } })).toThrow(/qosMetric/);
  });
});

describe('anti-affinity decision', () => {
  const online = [
    { pod: 'online-a', node: 'n1', phase: 'Running' },
    { pod: 'online-b', node: 'n2', phase: 'Running' },
  ];
  const batch = [{ pod: 'batch-x', node: 'n1', phase: 'Running' }];
  const params = { p99Bound: 0.1, minBatchCores: 0.5, sustain: 2 };

  it('acts when p99 is over the bound while a busy batch pod shares a node, held for `sustain` evaluations', () => {
    const first = decideInterference({ online, batch, p99: 0.3, cpu: [{ pod: 'batch-x', cores: 1.5 }], params });
    expect(first).toMatchObject({ act: false, interfering: true, state: { streak: 1 } });
    const second = decideInterference({
      online,
      batch,
      p99: 0.3,
      cpu: [{ pod: 'batch-x', cores: 1.5 }],
      state: first.state,
      params,
    });
    expect(second).toMatchObject({
      act: true,
      busyBatchCores: 1.5,
      colocated: [{ node: 'n1', online: ['online-a'], batch: [{ pod: 'batch-x', cores: 1.5 }] }],
    });
    // Once: after separating it does not act again.
    expect(
      decideInterference({
        online,
        batch,
        p99: 0.3,
        cpu: [{ pod: 'batch-x', cores: 1.5 }],
        state: second.state,
        separated: true,
        params,
      }),
    ).toMatchObject({ act: false, reason: expect.stringContaining('already separated') });
  });

  it('does not act on an idle batch job, a fast service, or a batch pod on another node', () => {
    const idle = { online, batch, p99: 0.3, cpu: [{ pod: 'batch-x', cores: 0.01 }], state: { streak: 5 }, params };
    expect(decideInterference(idle)).toMatchObject({
      act: false,
      interfering: false,
      reason: expect.stringContaining('idle'),
    });
    const fast = { ...idle, p99: 0.02, cpu: [{ pod: 'batch-x', cores: 2 }] };
    expect(decideInterference(fast)).toMatchObject({ act: false, reason: expect.stringContaining('within the bound') });
    const apart = { ...fast, p99: 0.3, batch: [{ pod: 'batch-x', node: 'n3', phase: 'Running' }] };
    expect(decideInterference(apart)).toMatchObject({ act: false, colocated: [] });
    const unknown = { ...fast, p99: null };
    expect(decideInterference(unknown).act).toBe(false);
  });
});

describe('fail-over decision', () => {
  const params = { primary: 'model-server', backup: 'backup', holdSeconds: 10, recoverSeconds: 6, minReadyToReturn: 1 };
  const replicas = (ready: number, backupReady = 1) => [
    { service: 'backup', desired: 1, ready: backupReady },
    { service: 'model-server', desired: 2, ready },
  ];

  /** Evaluates a timeline [seconds, primary ready] as the agent does (route remembered on change). */
  function run(timeline: Array<[number, number, number?]>) {
    let active: string | null = null;
    let state: FailoverDecision['state'] | null = null;
    return timeline.map(([t, ready, backupReady]) => {
      const d = decideFailover({
        replicas: replicas(ready, backupReady),
        active,
        state,
        now: 1_000_000 + t * 1000,
        params,
      });
      state = d.state;
      if (d.change) active = d.route;
      return d;
    });
  }

  it('redirects only when 0 ready replicas are held for holdSeconds, and returns after recoverSeconds', () => {
    const d = run([
      [0, 2],
      [5, 0],
      [10, 0],
      [15, 0], // held 10 s → backup
      [20, 0],
      [25, 1],
      [30, 2], // ready 5 s < 6
      [31, 2], // 6 s → back
      [36, 2],
    ]);
    expect(d.map((x) => (x.change ? x.route : '-'))).toEqual([
      '-',
      '-',
      '-',
      'backup',
      '-',
      '-',
      '-',
      'model-server',
      '-',
    ]);
    expect(d[3]).toMatchObject({ zeroForSeconds: 10, primary: { ready: 0, desired: 2 } });
    expect(d[7]).toMatchObject({ healthyForSeconds: 6, active: 'backup' });
    expect(d[8]!.active).toBe('model-server');
  });

  it('a single scrape at 0, or blips shorter than the hold, never redirect', () => {
    const d = run([
      [0, 0],
      [5, 2],
      [10, 0],
      [15, 0],
      [18, 1],
      [20, 0],
      [25, 0],
    ]);
    expect(d.filter((x) => x.change)).toEqual([]);
  });

  it('does not redirect to a backup that is down too, nor on a service scaled to zero on purpose', () => {
    expect(
      run([
        [0, 0, 0],
        [20, 0, 0],
      ]).filter((x) => x.change),
    ).toEqual([]);
    const scaledToZero = decideFailover({
      replicas: [
        { service: 'model-server', desired: 0, ready: 0 },
        { service: 'backup', desired: 1, ready: 1 },
      ],
      now: 0,
      state: { zeroSince: -100_000, healthySince: null },
      params,
    });
    expect(scaledToZero.change).toBe(false);
  });
});
