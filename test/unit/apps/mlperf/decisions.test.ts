import { describe, expect, it } from '@jest/globals';
import {
  decideFailover,
  decideInterference,
  decideThreshold,
  DecisionInputError,
  type FailoverDecision,
  type TunerDecision,
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
