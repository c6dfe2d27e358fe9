import { describe, expect, it } from '@jest/globals';
import {
  loadProfile,
  replicaSeconds,
  stepReactions,
  windows,
  type TracePoint,
} from '../../../../src/apps/mlperf/experiments/autoscaling-measures.js';
import type { LoadRun } from '../../../../src/apps/mlperf/experiments/load.js';

/** A run of two steps (10 q/s for 20 s, then 40 q/s for 20 s), every query answered on time. */
function run(): LoadRun {
  const records: LoadRun['records'] = [];
  const answer = (at: number) => records.push({ at, latencyMs: 5, service: 'model-server' });
  for (let i = 0; i < 200; i++) answer(i / 10);
  for (let i = 0; i < 800; i++) answer(20 + i / 40);
  return {
    startedAt: 0,
    users: 10,
    records,
    steps: [
      { qps: 10, seconds: 20, from: 0 },
      { qps: 40, seconds: 20, from: 20 },
    ],
  };
}

// 1 replica until the step, 2 Ready 6 s after it, 3 (enough for 40 < 20 × 3) 14 s after it.
const trace: TracePoint[] = Array.from({ length: 21 }, (_, i) => {
  const t = 2 * i;
  return { t, threshold: 50, desired: 3, replicas: t < 26 ? 1 : t < 34 ? 2 : 3 };
});

describe('autoscaling measures', () => {
  it('cuts the run into 10 s windows and judges each against the requirement', () => {
    const w = windows(run(), trace, 20, 40);
    expect(w.map((x) => x.offered)).toEqual([10, 10, 40, 40]);
    expect(w.map((x) => x.answered)).toEqual([10, 10, 40, 40]);
    // 40 q/s on 1.4 then 2.6 replicas on average: 28.6 and 15.4 per replica.
    expect(w.map((x) => x.qpsPerReplica)).toEqual([10, 10, 28.6, 15.4]);
    expect(w.map((x) => x.met)).toEqual([true, true, false, true]);
  });

  it('times the reaction to a step up: first added replica, then enough for the requirement', () => {
    expect(stepReactions(run(), trace, 20)).toEqual([
      { at: 20, qps: 40, replicasBefore: 1, replicasNeeded: 3, firstReplicaSeconds: 6, enoughSeconds: 14 },
    ]);
  });

  it('integrates replica-seconds and cuts the load profile', () => {
    expect(replicaSeconds(trace)).toBe(26 * 1 + 8 * 2 + 6 * 3);
    expect(loadProfile(240, 100)).toEqual([
      { seconds: 48, qps: 20 },
      { seconds: 48, qps: 60 },
      { seconds: 60, qps: 100 },
      { seconds: 36, qps: 60 },
      { seconds: 48, qps: 20 },
    ]);
  });
});
