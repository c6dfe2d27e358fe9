/**
 * What the autoscaling experiment measures, from a run's records and the replica trace (pure):
 * the load profile, per 10 s window the offered and answered load, ready replicas, queries/s per
 * replica against the requirement and p99; per step up of the load how soon replicas came;
 * replica-seconds.
 */
import { offeredAt, type LoadRun, type LoadStep } from './load.js';

/** One sample of the HPA and the ready replicas (every 2 s), t in seconds since the load started. */
export interface TracePoint {
  t: number;
  threshold: number;
  replicas: number;
  desired: number;
}

/** The profile: low, rising, peak, falling, low (fractions of the duration and of the peak). */
export function loadProfile(duration: number, peak: number): LoadStep[] {
  const parts: Array<[number, number]> = [
    [0.2, 0.2],
    [0.2, 0.6],
    [0.25, 1],
    [0.15, 0.6],
    [0.2, 0.2],
  ];
  return parts.map(([share, level]) => ({
    seconds: Math.round(duration * share),
    qps: Math.max(1, Math.round(peak * level)),
  }));
}

export interface Window {
  /** Window start (s since the load started). */
  t: number;
  offered: number;
  answered: number;
  failed: number;
  replicas: number;
  qpsPerReplica: number;
  p99: number | null;
  met: boolean;
}

/** How a setting followed one step up of the load. */
export interface Reaction {
  /** When the step came (s) and the load it went to. */
  at: number;
  qps: number;
  /** Ready replicas when the step came, and the fewest that meet the requirement at the new load. */
  replicasBefore: number;
  replicasNeeded: number;
  /** Seconds to the first added replica Ready, and to `replicasNeeded` Ready (null: not in the step). */
  firstReplicaSeconds: number | null;
  enoughSeconds: number | null;
}

const WINDOW = 10;

/** The run cut into 10 s windows; a window meets the requirement when every query was answered and answered/replicas < qos. */
export function windows(run: LoadRun, trace: TracePoint[], qos: number, duration: number): Window[] {
  const out: Window[] = [];
  for (let t = 0; t + WINDOW <= duration; t += WINDOW) {
    const inside = run.records.filter((r) => r.at >= t && r.at < t + WINDOW);
    const ok = inside.filter((r) => r.service);
    const samples = trace.filter((s) => s.t >= t && s.t < t + WINDOW);
    const replicas = samples.length ? samples.reduce((n, s) => n + s.replicas, 0) / samples.length : 0;
    const answered = ok.length / WINDOW;
    const sorted = ok.map((r) => r.latencyMs).sort((a, b) => a - b);
    const p99 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))]! : null;
    const qpsPerReplica = replicas > 0 ? answered / replicas : answered;
    out.push({
      t,
      offered: offeredAt(run, t + WINDOW / 2),
      answered: Math.round(answered * 10) / 10,
      failed: inside.length - ok.length,
      replicas: Math.round(replicas * 100) / 100,
      qpsPerReplica: Math.round(qpsPerReplica * 10) / 10,
      p99: p99 === null ? null : Math.round(p99 * 10) / 10,
      // Met: the requirement holds and nothing failed in the window (a failed query is not served).
      met: qpsPerReplica < qos && inside.length === ok.length,
    });
  }
  return out;
}

/** For each step up of the load: how soon a replica was added, and how soon enough were Ready. */
export function stepReactions(run: LoadRun, trace: TracePoint[], qos: number): Reaction[] {
  const out: Reaction[] = [];
  run.steps.forEach((step, k) => {
    const prev = run.steps[k - 1];
    if (!prev || step.qps <= prev.qps) return;
    const end = step.from + step.seconds;
    const replicasBefore = trace.filter((s) => s.t <= step.from).at(-1)?.replicas ?? 0;
    const replicasNeeded = Math.floor(step.qps / qos) + 1;
    const during = trace.filter((s) => s.t > step.from && s.t < end);
    const first = during.find((s) => s.replicas > replicasBefore);
    const enough = replicasBefore >= replicasNeeded ? step.from : during.find((s) => s.replicas >= replicasNeeded)?.t;
    const since = (t: number | undefined) => (t === undefined ? null : Math.round((t - step.from) * 10) / 10);
    out.push({
      at: Math.round(step.from * 10) / 10,
      qps: step.qps,
      replicasBefore,
      replicasNeeded,
      firstReplicaSeconds: since(first?.t),
      enoughSeconds: since(enough),
    });
  });
  return out;
}

/** Ready replicas integrated over the trace (each sample holds until the next). */
export function replicaSeconds(trace: TracePoint[]): number {
  return trace.reduce((n, s, i) => n + s.replicas * ((trace[i + 1]?.t ?? s.t) - s.t), 0);
}
