/**
 * The three planners' decision logic, pure and unit-tested (test/unit/apps/mlperf). The agent DSL
 * compares numbers; hysteresis, streaks and hold times need memory across evaluations, so each
 * planner calls one of these as a sensor activity: it takes the observations, the parameters and
 * its own previous output (the belief it left), and returns the decision with the state for the
 * next evaluation. Inputs and outputs both land in the agent's decision log.
 *
 * Clocks are inputs (`now`), never read here.
 */

export class DecisionInputError extends Error {
  override name = 'DecisionInputError';
}

export const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function need(cond: boolean, message: string): void {
  if (!cond) throw new DecisionInputError(message);
}

// ---------------------------------------------------------------------------------------------
// (a) QoS tuner: the autoscaler's threshold from the end user's QoS requirement (Fig. 9)
// ---------------------------------------------------------------------------------------------

export type QosMetric = 'qps-per-replica' | 'p99';

/**
 * What the tuner's threshold drives: an HPA on CPU utilisation (%, the data engineer's knob, Fig. 8)
 * or KEDA on the service's answered queries/s (a ScaledObject with a Prometheus trigger, Fig. 9;
 * the threshold is queries/s per replica, keda-tuner.ts decides it from the load's surges).
 */
export type TunedAutoscaler = 'hpa-cpu' | 'keda-qps';

export interface TunerParams {
  /** The autoscaler whose threshold is tuned (default hpa-cpu; keda-qps: see keda-tuner.ts). */
  autoscaler: TunedAutoscaler;
  /** Which observation the requirement is about: queries/s per replica, or p99 latency (seconds). */
  qosMetric: QosMetric;
  /** The requirement: metric < qosBound (e.g. 20 queries/s per replica, or 0.1 s). */
  qosBound: number;
  /** Below qosBound × lowFraction the service has slack: raise the threshold (fewer replicas). */
  lowFraction: number;
  /** Above qosBound × highFraction the requirement is at risk: lower the threshold (more replicas). */
  highFraction: number;
  /**
   * Where a step aims: qosBound × targetFraction (default the middle of the dead band). The step is
   * proportional to the error: the threshold that gives the target (see decideThreshold), not a
   * fixed increment.
   */
  targetFraction: number;
  /** Consecutive evaluations on the same side before acting (the hold: noise does not move the threshold). */
  sustain: number;
  /** Evaluations without any change after one (new pods' start-up CPU leaves the cost estimate first). */
  cooldown: number;
  /** A step moves at most stepFraction of the threshold and at most maxStep, within [minThreshold, maxThreshold]. */
  stepFraction: number;
  maxStep: number;
  minThreshold: number;
  maxThreshold: number;
  /** Threshold at start (what the autoscaler was deployed with). */
  initialThreshold: number;
  /** Decimals of the threshold (0 for an HPA's integer CPU utilisation). */
  decimals: number;
  /**
   * CPU request of one replica (cores; an HPA's utilisation is relative to it). With it and the
   * replicas' CPU (cAdvisor) the tuner measures the cost of a query and computes the threshold that
   * gives the target directly; 0: no cost model, proportional steps from the observed error.
   */
  cpuRequestCores: number;
  /** A replica counts in the cost model once it answers at least this many queries/s. */
  minServingQps: number;
  /**
   * Memory of the cost fit, in evaluations: each evaluation's points weigh 1, older ones decay by
   * 1 - 1/fitMemory per evaluation (the cost of a query drifts with the machine's load).
   */
  fitMemory: number;
  /**
   * keda-qps: seconds from a step of the load to the autoscaler's new replica serving (HPA sync,
   * the rate window, pod start), over which the sensor measures the load's rise (the surge J).
   */
  reactionSeconds: number;
  /** keda-qps: how far back the surge is remembered (the largest J within it counts). */
  memorySeconds: number;
  /**
   * keda-qps: the threshold is raised only when the sensor's evidence spans at least this long
   * (default: the whole memory; a flat first minute is no proof that the load will not step).
   */
  raiseEvidenceSeconds: number;
}

export const defaultTunerParams: TunerParams = {
  autoscaler: 'hpa-cpu',
  qosMetric: 'qps-per-replica',
  qosBound: 20,
  lowFraction: 0.6,
  highFraction: 0.9,
  targetFraction: 0.75,
  sustain: 3,
  cooldown: 2,
  stepFraction: 0.2,
  maxStep: 10,
  minThreshold: 1,
  maxThreshold: 100,
  initialThreshold: 50,
  decimals: 0,
  cpuRequestCores: 0,
  minServingQps: 1,
  fitMemory: 24,
  // keda-qps: KEDA's HPA syncs every 5 s, the rate window is 10 s and a pod is Ready in a few
  // seconds on the real nodes: 15 s covers a reaction (the experiment measures it and reports it).
  reactionSeconds: 15,
  // Ten minutes: several load steps of a run of minutes; a surge is forgotten after it.
  memorySeconds: 600,
  raiseEvidenceSeconds: 600,
};

/** The HPA's own tolerance: a dead band narrower than this would fight the autoscaler. */
export const HPA_TOLERANCE = 0.1;

export type Direction = 'raise' | 'lower' | 'hold';

/** Decayed sums of (queries/s, utilisation %) per replica: the cost fit's memory. */
export interface CostSums {
  w: number;
  q: number;
  u: number;
  qq: number;
  qu: number;
}

export interface TunerState {
  streak: { direction: Direction; count: number };
  cooldownLeft: number;
  evaluations: number;
  changes: number;
  /** The cost fit's sums (absent before the first CPU reading). */
  cost?: CostSums | null;
}

/** One replica's answered queries/s (promQueriesPerReplica's `perReplica`). */
export interface ReplicaQps {
  replica: string;
  qps: number | null;
}

/** One pod's CPU (promCpuSecondsPerPod's `pods`). */
export interface PodCores {
  pod: string;
  cores: number | null;
}

export interface TunerInput {
  observed: {
    qpsPerReplica?: number | null;
    p99?: number | null;
    /** Per replica, for the cost model (replicas named as the CPU series name pods). */
    perReplica?: ReplicaQps[] | null;
    cpu?: PodCores[] | null;
    /** keda-qps: the load's largest surge J over the memory (mlperfLoadSurge's `value`). */
    surge?: number | null;
    /** keda-qps: seconds of load the surge was measured over (mlperfLoadSurge's `evidenceSeconds`). */
    evidenceSeconds?: number | null;
  };
  /** The threshold last applied to the autoscaler (remembered after a successful update). */
  applied?: number | null;
  /** The state the last evaluation returned (its belief's `state`). */
  state?: TunerState | null;
  params: Partial<TunerParams>;
}

/**
 * The measured cost of a query on one replica: CPU utilisation (% of the request) = base + slope ×
 * queries/s. A replica has a CPU cost at no load (the runtime, the metrics scrapes, the probes:
 * a third of a 100m request on the real nodes), so the utilisation per query/s is not a constant:
 * a ratio measured at 10 queries/s overstates the threshold for 15, and a tuner raising on it
 * overshoots and comes back, an oscillation. The base and the slope are a least-squares fit over
 * the replicas' recent (queries/s, utilisation) points, valid once the points spread over enough
 * queries/s (the load changed, or the replicas did); until then only the ratio, which understates
 * the threshold when the load per replica is above the target, so it is used to lower only.
 */
export interface CostModel {
  kind: 'fit' | 'ratio';
  /** Utilisation (%) per query/s: the fit's slope, or the ratio. */
  utilisationPerQps: number;
  /** Utilisation (%) at no load (the fit's intercept; 0 for the ratio). */
  baseUtilisation: number;
  /** Serving replicas in this evaluation's points. */
  replicas: number;
  /** Standard deviation of queries/s per replica over the fit's memory. */
  spread: number;
  /** The threshold at which the autoscaler keeps `target` queries/s per replica. */
  threshold: number;
}

export interface TunerDecision {
  change: boolean;
  /** The threshold to apply (equal to `from` when nothing changes). */
  threshold: number;
  from: number;
  direction: Direction;
  metric: QosMetric;
  value: number | null;
  bound: number;
  band: { low: number; high: number };
  /** Where a step aims (qosBound × targetFraction). */
  target: number;
  /** The threshold that would give the target: from the cost model, else proportional to the error. */
  wanted: number | null;
  model: CostModel | null;
  reason: string;
  state: TunerState;
}

export function tunerParams(p: Partial<TunerParams>): TunerParams {
  const q = { ...defaultTunerParams, ...stripNulls(p) };
  need(
    q.autoscaler === 'hpa-cpu' || q.autoscaler === 'keda-qps',
    `autoscaler: expected hpa-cpu or keda-qps, got ${String(q.autoscaler)}`,
  );
  need(
    q.autoscaler === 'hpa-cpu' || q.qosMetric === 'qps-per-replica',
    `qosMetric: the keda-qps tuner keeps queries/s per replica (its threshold is one), got ${String(q.qosMetric)}`,
  );
  for (const k of ['reactionSeconds', 'memorySeconds'] as const)
    need(finite(q[k]) && q[k] > 0, `${k}: expected seconds > 0, got ${String(q[k])}`);
  need(
    finite(q.raiseEvidenceSeconds) && q.raiseEvidenceSeconds >= 0,
    `raiseEvidenceSeconds: expected seconds >= 0, got ${String(q.raiseEvidenceSeconds)}`,
  );
  need(
    q.reactionSeconds < q.memorySeconds,
    `reactionSeconds ${q.reactionSeconds} must be shorter than memorySeconds ${q.memorySeconds}: the memory holds whole reactions`,
  );
  need(
    q.qosMetric === 'qps-per-replica' || q.qosMetric === 'p99',
    `qosMetric: expected qps-per-replica or p99, got ${String(q.qosMetric)}`,
  );
  for (const k of ['qosBound', 'stepFraction', 'maxStep', 'minThreshold', 'maxThreshold', 'initialThreshold'] as const)
    need(finite(q[k]) && q[k] > 0, `${k}: expected a number > 0, got ${String(q[k])}`);
  need(
    finite(q.lowFraction) && finite(q.highFraction) && q.lowFraction > 0 && q.highFraction <= 1,
    'lowFraction, highFraction: expected 0 < low < high <= 1',
  );
  need(
    q.highFraction - q.lowFraction > HPA_TOLERANCE,
    `highFraction - lowFraction must exceed the HPA's tolerance ${HPA_TOLERANCE} (got ${(q.highFraction - q.lowFraction).toFixed(2)}): a narrower dead band oscillates with the autoscaler`,
  );
  // A target outside the dead band would step past it and come back: an oscillation by design.
  need(
    finite(q.targetFraction) && q.targetFraction >= q.lowFraction && q.targetFraction <= q.highFraction,
    `targetFraction: expected a number within [lowFraction ${q.lowFraction}, highFraction ${q.highFraction}], got ${String(q.targetFraction)}`,
  );
  need(Number.isInteger(q.sustain) && q.sustain >= 1, `sustain: expected an integer >= 1, got ${q.sustain}`);
  need(Number.isInteger(q.cooldown) && q.cooldown >= 0, `cooldown: expected an integer >= 0, got ${q.cooldown}`);
  need(q.stepFraction <= 1, `stepFraction: expected at most 1, got ${q.stepFraction}`);
  need(q.minThreshold <= q.maxThreshold, `minThreshold ${q.minThreshold} > maxThreshold ${q.maxThreshold}`);
  need(
    Number.isInteger(q.decimals) && q.decimals >= 0 && q.decimals <= 6,
    `decimals: expected 0..6, got ${q.decimals}`,
  );
  need(
    finite(q.cpuRequestCores) && q.cpuRequestCores >= 0,
    `cpuRequestCores: expected cores >= 0 (0: no cost model), got ${String(q.cpuRequestCores)}`,
  );
  need(finite(q.fitMemory) && q.fitMemory >= 1, `fitMemory: expected evaluations >= 1, got ${String(q.fitMemory)}`);
  need(
    finite(q.minServingQps) && q.minServingQps > 0,
    `minServingQps: expected a number > 0, got ${String(q.minServingQps)}`,
  );
  return q;
}

export function stripNulls<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== null && v !== undefined)) as Partial<T>;
}

export const roundTo = (v: number, decimals: number) => Math.round(v * 10 ** decimals) / 10 ** decimals;
export const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** This evaluation's (queries/s, utilisation %) points of the replicas that serve. */
export function costPoints(
  perReplica: ReplicaQps[] | null | undefined,
  cpu: PodCores[] | null | undefined,
  p: Pick<TunerParams, 'cpuRequestCores' | 'minServingQps'>,
): Array<[number, number]> {
  if (!(p.cpuRequestCores > 0)) return [];
  const cores = new Map((cpu ?? []).filter((c) => finite(c.cores) && c.cores > 0).map((c) => [c.pod, c.cores!]));
  return (perReplica ?? [])
    .filter((r) => finite(r.qps) && r.qps >= p.minServingQps && cores.has(r.replica))
    .map((r): [number, number] => [r.qps!, (100 * cores.get(r.replica)!) / p.cpuRequestCores]);
}

/** The sums with this evaluation's points added (weighing 1 in all) and the older ones decayed. */
export function addCostPoints(
  sums: CostSums | null | undefined,
  points: Array<[number, number]>,
  memory: number,
): CostSums {
  const decay = 1 - 1 / memory;
  const s = sums ?? { w: 0, q: 0, u: 0, qq: 0, qu: 0 };
  const k = points.length ? 1 / points.length : 0;
  const add = (f: (q: number, u: number) => number) => points.reduce((n, [q, u]) => n + k * f(q, u), 0);
  return {
    w: s.w * decay + (points.length ? 1 : 0),
    q: s.q * decay + add((q) => q),
    u: s.u * decay + add((_, u) => u),
    qq: s.qq * decay + add((q) => q * q),
    qu: s.qu * decay + add((q, u) => q * u),
  };
}

/** Evaluations' worth of points, and the spread of queries/s among them, before the fit counts. */
const FIT_MIN_WEIGHT = 3;
const FIT_MIN_SPREAD_OF_TARGET = 0.15;

/** The cost model: the fit when its points spread enough, else this evaluation's ratio; null without CPU. */
export function costModel(
  sums: CostSums | null | undefined,
  points: Array<[number, number]>,
  p: Pick<TunerParams, 'qosBound' | 'targetFraction'>,
): CostModel | null {
  const target = p.qosBound * p.targetFraction;
  const spread = sums && sums.w > 0 ? Math.sqrt(Math.max(0, sums.qq / sums.w - (sums.q / sums.w) ** 2)) : 0;
  if (sums && sums.w >= FIT_MIN_WEIGHT && spread >= FIT_MIN_SPREAD_OF_TARGET * target) {
    const meanQ = sums.q / sums.w;
    const slope = (sums.qu / sums.w - meanQ * (sums.u / sums.w)) / spread ** 2;
    const base = sums.u / sums.w - slope * meanQ;
    // A cost that falls with the load is noise (startup CPU, a refresh missed), not a model.
    if (slope > 0 && base + slope * target > 0)
      return {
        kind: 'fit',
        utilisationPerQps: roundTo(slope, 4),
        baseUtilisation: roundTo(base, 2),
        replicas: points.length,
        spread: roundTo(spread, 2),
        threshold: roundTo(base + slope * target, 2),
      };
  }
  if (points.length === 0) return null;
  const ratio = median(points.map(([q, u]) => u / q));
  return {
    kind: 'ratio',
    utilisationPerQps: roundTo(ratio, 4),
    baseUtilisation: 0,
    replicas: points.length,
    spread: roundTo(spread, 2),
    threshold: roundTo(ratio * target, 2),
  };
}

/**
 * The frame both tuner modes (decideThreshold here, decideKedaThreshold in keda-tuner.ts) evaluate
 * in: the state before this evaluation (a fresh one at the first), the threshold in effect within
 * the bounds, and the requirement's dead band and target.
 */
export function evaluationStart(
  input: TunerInput,
  p: TunerParams,
): { prev: TunerState; from: number; band: { low: number; high: number }; target: number } {
  return {
    prev: input.state ?? { streak: { direction: 'hold', count: 0 }, cooldownLeft: 0, evaluations: 0, changes: 0 },
    from: clamp(finite(input.applied) ? input.applied : p.initialThreshold, p.minThreshold, p.maxThreshold),
    band: { low: p.qosBound * p.lowFraction, high: p.qosBound * p.highFraction },
    target: roundTo(p.qosBound * p.targetFraction, 6),
  };
}

/** The streak after this evaluation: one more in the same direction, or a new one. */
export function nextStreak(prev: TunerState, direction: Direction): TunerState['streak'] {
  return { direction, count: direction === prev.streak.direction ? prev.streak.count + 1 : 1 };
}

/** The fields of a decision that keeps the threshold. */
type Held = Pick<TunerDecision, 'change' | 'threshold' | 'direction' | 'reason' | 'state'>;

/**
 * A decision that keeps the threshold (`base.from`): the streak goes on as given, a cooldown runs
 * down one evaluation. `cost`: the CPU mode's fit, carried in its state (the KEDA mode has none).
 */
export function holdDecision<B extends { from: number }>(
  base: B,
  prev: TunerState,
  cost?: CostSums | null,
): (reason: string, streak: TunerState['streak']) => B & Held {
  return (reason, streak) => ({
    ...base,
    change: false,
    threshold: base.from,
    direction: 'hold',
    reason,
    state: {
      streak,
      cooldownLeft: Math.max(0, prev.cooldownLeft - 1),
      evaluations: prev.evaluations + 1,
      changes: prev.changes,
      ...(cost !== undefined ? { cost } : {}),
    },
  });
}

/** The state after a change: a new streak, the full cooldown. */
export function changedState(prev: TunerState, p: Pick<TunerParams, 'cooldown'>, cost?: CostSums | null): TunerState {
  return {
    streak: { direction: 'hold', count: 0 },
    cooldownLeft: p.cooldown,
    evaluations: prev.evaluations + 1,
    changes: prev.changes + 1,
    ...(cost !== undefined ? { cost } : {}),
  };
}

/**
 * One evaluation of the QoS tuner. Outside the dead band for `sustain` evaluations in a row (and not
 * cooling down), it moves the threshold toward the one that gives the target per replica:
 *
 *   - with the cost model (queries/s per replica): utilisation per query/s × target. An HPA on CPU
 *     keeps utilisation near its threshold, so this threshold keeps the target queries/s per
 *     replica whatever the load; it does not depend on how many replicas run now, so the tuner
 *     does not chase the autoscaler's own transients, and does not wind up while the autoscaler
 *     is pinned at its minimum or maximum replicas (the wanted threshold stays where it is);
 *   - without it (no CPU, or a p99 requirement): proportional to the error, threshold × target /
 *     observed (at the autoscaler's equilibrium the load per replica is proportional to it).
 *
 * A step is bounded (stepFraction of the threshold, maxStep, [min, max]); a wanted threshold within
 * the HPA's tolerance of the current one, or on the other side of it, is no reason to change.
 */
export function decideThreshold(input: TunerInput): TunerDecision {
  const p = tunerParams(input.params ?? {});
  need(p.autoscaler === 'hpa-cpu', 'autoscaler keda-qps: decided by decideKedaThreshold (keda-tuner.ts), not here');
  const { prev, from, band, target } = evaluationStart(input, p);
  const raw = p.qosMetric === 'p99' ? input.observed?.p99 : input.observed?.qpsPerReplica;
  const value = finite(raw) ? raw : null;
  const points =
    p.qosMetric === 'qps-per-replica' ? costPoints(input.observed?.perReplica, input.observed?.cpu, p) : [];
  // An evaluation without CPU points leaves the fit as it was (a missed scrape is not evidence).
  const cost = points.length ? addCostPoints(prev.cost, points, p.fitMemory) : (prev.cost ?? null);
  const model = p.qosMetric === 'qps-per-replica' ? costModel(cost, points, p) : null;
  const wanted =
    value === null || value <= 0
      ? (model?.threshold ?? null)
      : (model?.threshold ?? roundTo((from * target) / value, 2));
  const base = { from, metric: p.qosMetric, value, bound: p.qosBound, band, target, wanted, model };
  const hold: (reason: string, streak: TunerState['streak']) => TunerDecision = holdDecision(base, prev, cost);

  if (value === null)
    return hold('no observation (no traffic or no scrape): nothing is evidence', { direction: 'hold', count: 0 });
  const direction: Direction = value > band.high ? 'lower' : value < band.low ? 'raise' : 'hold';
  const streak = nextStreak(prev, direction);
  if (direction === 'hold')
    return hold(`${value} within the dead band [${band.low}, ${band.high}] of the requirement < ${p.qosBound}`, streak);
  const side = direction === 'lower' ? `${value} > ${band.high}` : `${value} < ${band.low}`;
  if (streak.count < p.sustain)
    return hold(`${direction} wanted (${side}) for ${streak.count}/${p.sustain} evaluations`, streak);
  if (prev.cooldownLeft > 0)
    return hold(
      `${direction} wanted but cooling down after the last change (${prev.cooldownLeft} evaluations left)`,
      streak,
    );
  const source = !model
    ? `${from} × target ${target} / ${value}`
    : model.kind === 'fit'
      ? `cost ${model.baseUtilisation} % + ${model.utilisationPerQps} % per query/s (fit, spread ${model.spread} queries/s) at target ${target}`
      : `cost ${model.utilisationPerQps} % per query/s (ratio on ${model.replicas} replica(s)) × target ${target}`;
  // The ratio ignores a replica's cost at no load, so it overstates the threshold below the target:
  // good enough to lower on (it errs toward more replicas), not to raise on.
  if (direction === 'raise' && model?.kind === 'ratio')
    return hold(
      `raise wanted (${side}) but the cost of a query is not fitted yet (queries/s per replica spread ${model.spread} < ${roundTo(FIT_MIN_SPREAD_OF_TARGET * target, 2)}): the ratio ${model.threshold} would overshoot`,
      streak,
    );
  // The wanted threshold already at or beyond the current one: the autoscaler is catching up, or
  // pinned at its replica bound; moving the threshold would only wind it up.
  if (wanted !== null && (direction === 'lower' ? wanted >= from : wanted <= from))
    return hold(
      `${direction} wanted (${side}) but the threshold for the target is ${wanted} (${source}), not ${direction === 'lower' ? 'below' : 'above'} ${from}: the autoscaler is catching up or at its replica bound`,
      streak,
    );
  if (wanted !== null && Math.abs(wanted - from) <= HPA_TOLERANCE * from)
    return hold(
      `${direction} wanted (${side}) but the threshold for the target, ${wanted} (${source}), is within the HPA's tolerance of ${from}`,
      streak,
    );
  const limit = Math.min(p.maxStep, from * p.stepFraction);
  const unit = 10 ** -p.decimals;
  const aim = wanted ?? (direction === 'raise' ? from + limit : from - limit);
  let next = from + clamp(aim - from, -limit, limit);
  next = clamp(roundTo(next, p.decimals), p.minThreshold, p.maxThreshold);
  if (next === from && direction === 'raise' && from + unit <= p.maxThreshold) next = roundTo(from + unit, p.decimals);
  if (next === from && direction === 'lower' && from - unit >= p.minThreshold) next = roundTo(from - unit, p.decimals);
  if (next === from) return hold(`${direction} wanted but the threshold is at its bound (${from})`, streak);
  return {
    ...base,
    change: true,
    threshold: next,
    direction,
    reason: `${p.qosMetric} ${side} (${direction === 'lower' ? 'requirement at risk' : 'slack'}) for ${streak.count} evaluations: threshold ${from} → ${next} (for the target: ${wanted} = ${source}; step at most ${roundTo(limit, 2)})`,
    state: changedState(prev, p, cost),
  };
}

// ---------------------------------------------------------------------------------------------
// (b) Anti-affinity planner: interference of a batch job with the online service (Fig. 10)
// ---------------------------------------------------------------------------------------------

export interface Placement {
  pod: string;
  node: string;
  phase: string;
}

export interface InterferenceParams {
  /** The online service's p99 bound (seconds): above it the service suffers. */
  p99Bound: number;
  /** CPU (cores) a co-located batch pod must use to count as running work, not idle. */
  minBatchCores: number;
  /** Consecutive evaluations of interference before acting. */
  sustain: number;
}

export const defaultInterferenceParams: InterferenceParams = { p99Bound: 0.1, minBatchCores: 0.2, sustain: 2 };

export interface InterferenceInput {
  online: Placement[];
  batch: Placement[];
  /** p99 of the online service (seconds), null when unknown. */
  p99: number | null;
  /** CPU per pod from cAdvisor (promCpuSecondsPerPod's `pods`). */
  cpu: Array<{ pod: string; cores: number | null }>;
  /** True once the planner has separated them (remembered after the actions succeeded). */
  separated?: boolean | null;
  state?: { streak: number } | null;
  params: Partial<InterferenceParams>;
}

export interface InterferenceDecision {
  act: boolean;
  interfering: boolean;
  colocated: Array<{ node: string; online: string[]; batch: Array<{ pod: string; cores: number | null }> }>;
  busyBatchCores: number;
  p99: number | null;
  reason: string;
  state: { streak: number };
}

export function interferenceParams(p: Partial<InterferenceParams>): InterferenceParams {
  const q = { ...defaultInterferenceParams, ...stripNulls(p) };
  need(finite(q.p99Bound) && q.p99Bound > 0, `p99Bound: expected seconds > 0, got ${String(q.p99Bound)}`);
  need(
    finite(q.minBatchCores) && q.minBatchCores >= 0,
    `minBatchCores: expected cores >= 0, got ${String(q.minBatchCores)}`,
  );
  need(Number.isInteger(q.sustain) && q.sustain >= 1, `sustain: expected an integer >= 1, got ${q.sustain}`);
  return q;
}

export function decideInterference(input: InterferenceInput): InterferenceDecision {
  const p = interferenceParams(input.params ?? {});
  const running = (x: Placement) => x.node !== '' && x.phase === 'Running';
  const cores = new Map((input.cpu ?? []).map((c) => [c.pod, c.cores]));
  const nodes = [...new Set((input.online ?? []).filter(running).map((x) => x.node))].sort();
  const colocated = nodes
    .map((node) => ({
      node,
      online: input.online.filter((x) => running(x) && x.node === node).map((x) => x.pod),
      batch: (input.batch ?? [])
        .filter((x) => running(x) && x.node === node)
        .map((x) => ({ pod: x.pod, cores: cores.get(x.pod) ?? null })),
    }))
    .filter((c) => c.batch.length > 0);
  const busyBatchCores =
    Math.round(colocated.flatMap((c) => c.batch).reduce((n, b) => n + (b.cores ?? 0), 0) * 1e6) / 1e6;
  const p99 = finite(input.p99) ? input.p99 : null;
  const busy = colocated.length > 0 && busyBatchCores >= p.minBatchCores;
  const slow = p99 !== null && p99 > p.p99Bound;
  const interfering = busy && slow;
  const prevStreak = input.state?.streak ?? 0;
  const streak = interfering ? prevStreak + 1 : 0;
  const base = { interfering, colocated, busyBatchCores, p99, state: { streak } };
  if (input.separated) return { ...base, act: false, reason: 'already separated (the planner acts once)' };
  if (colocated.length === 0)
    return { ...base, act: false, reason: 'no batch pod runs on a node of the online service' };
  if (!busy)
    return { ...base, act: false, reason: `co-located batch pods idle (${busyBatchCores} cores < ${p.minBatchCores})` };
  if (!slow)
    return {
      ...base,
      act: false,
      reason: p99 === null ? 'p99 unknown (no traffic)' : `p99 ${p99} s within the bound ${p.p99Bound} s`,
    };
  if (streak < p.sustain) return { ...base, act: false, reason: `interference for ${streak}/${p.sustain} evaluations` };
  return {
    ...base,
    act: true,
    reason: `p99 ${p99} s > ${p.p99Bound} s while batch pods use ${busyBatchCores} cores on ${colocated.map((c) => c.node).join(', ')} for ${streak} evaluations: separate them`,
  };
}

// ---------------------------------------------------------------------------------------------
// (c) Fail-over planner: all traffic to the backup when the service has no ready replica (Fig. 11)
// ---------------------------------------------------------------------------------------------

export interface FailoverParams {
  primary: string;
  backup: string;
  /** Ready replicas = 0 (with replicas wanted) for this long before redirecting: not a single scrape. */
  holdSeconds: number;
  /** The primary ready again for this long before traffic returns. */
  recoverSeconds: number;
  /** Ready replicas of the primary that count as recovered. */
  minReadyToReturn: number;
}

export const defaultFailoverParams: FailoverParams = {
  primary: 'model-server',
  backup: 'backup',
  holdSeconds: 30,
  recoverSeconds: 30,
  minReadyToReturn: 1,
};

export interface ReplicaReading {
  service: string;
  desired: number;
  ready: number;
}

export interface FailoverState {
  /** Since when (ms) the primary has had no ready replica, null while it has one. */
  zeroSince: number | null;
  /** Since when (ms) the primary has been ready again while traffic is on the backup. */
  healthySince: number | null;
}

export interface FailoverInput {
  replicas: ReplicaReading[];
  /** Where traffic goes now (remembered after the last redirect), default the primary. */
  active?: string | null;
  state?: FailoverState | null;
  /** Observation time (ms since the epoch). */
  now: number;
  params: Partial<FailoverParams>;
}

export interface FailoverDecision {
  change: boolean;
  /** Where traffic should go after this evaluation. */
  route: string;
  active: string;
  primary: { ready: number; desired: number };
  backup: { ready: number; desired: number };
  zeroForSeconds: number | null;
  healthyForSeconds: number | null;
  observedAt: string;
  reason: string;
  state: FailoverState;
}

export function failoverParams(p: Partial<FailoverParams>): FailoverParams {
  const q = { ...defaultFailoverParams, ...stripNulls(p) };
  need(typeof q.primary === 'string' && q.primary !== '', 'primary: expected a service name');
  need(
    typeof q.backup === 'string' && q.backup !== '' && q.backup !== q.primary,
    'backup: expected a service name other than primary',
  );
  need(finite(q.holdSeconds) && q.holdSeconds >= 0, `holdSeconds: expected >= 0, got ${String(q.holdSeconds)}`);
  need(
    finite(q.recoverSeconds) && q.recoverSeconds >= 0,
    `recoverSeconds: expected >= 0, got ${String(q.recoverSeconds)}`,
  );
  need(Number.isInteger(q.minReadyToReturn) && q.minReadyToReturn >= 1, 'minReadyToReturn: expected an integer >= 1');
  return q;
}

export function decideFailover(input: FailoverInput): FailoverDecision {
  const p = failoverParams(input.params ?? {});
  need(finite(input.now), 'now: expected a time in ms');
  const find = (s: string) => {
    const r = (input.replicas ?? []).find((x) => x.service === s);
    return { ready: r?.ready ?? 0, desired: r?.desired ?? 0 };
  };
  const primary = find(p.primary);
  const backup = find(p.backup);
  const active = input.active === p.backup ? p.backup : p.primary;
  const prev = input.state ?? { zeroSince: null, healthySince: null };
  const now = input.now;
  const secondsSince = (t: number | null) => (t === null ? null : Math.round((now - t) / 100) / 10);
  const base = { active, primary, backup, observedAt: new Date(now).toISOString() };
  const decision = (change: boolean, route: string, reason: string, state: FailoverState): FailoverDecision => ({
    ...base,
    change,
    route,
    reason,
    state,
    zeroForSeconds: secondsSince(state.zeroSince),
    healthyForSeconds: secondsSince(state.healthySince),
  });

  if (active === p.primary) {
    // A service scaled to zero on purpose (desired 0) has not failed.
    const down = primary.ready === 0 && primary.desired > 0;
    if (!down)
      return decision(false, active, `${p.primary} has ${primary.ready}/${primary.desired} ready`, {
        zeroSince: null,
        healthySince: null,
      });
    const zeroSince = prev.zeroSince ?? now;
    const held = (now - zeroSince) / 1000;
    const state = { zeroSince, healthySince: null };
    if (held < p.holdSeconds)
      return decision(
        false,
        active,
        `${p.primary} has 0/${primary.desired} ready for ${held.toFixed(1)} s (< ${p.holdSeconds} s)`,
        state,
      );
    if (backup.ready === 0)
      return decision(
        false,
        active,
        `${p.primary} down for ${held.toFixed(1)} s but ${p.backup} has no ready replica either`,
        state,
      );
    return decision(
      true,
      p.backup,
      `${p.primary} has had 0/${primary.desired} ready for ${held.toFixed(1)} s (>= ${p.holdSeconds} s): all traffic to ${p.backup} (${backup.ready} ready)`,
      state,
    );
  }
  // Traffic is on the backup: return once the primary has been ready long enough.
  if (primary.ready < p.minReadyToReturn)
    return decision(false, active, `${p.primary} not recovered (${primary.ready}/${primary.desired} ready)`, {
      zeroSince: prev.zeroSince,
      healthySince: null,
    });
  const healthySince = prev.healthySince ?? now;
  const healthy = (now - healthySince) / 1000;
  const state = { zeroSince: null, healthySince };
  if (healthy < p.recoverSeconds)
    return decision(
      false,
      active,
      `${p.primary} ready again (${primary.ready}) for ${healthy.toFixed(1)} s (< ${p.recoverSeconds} s)`,
      state,
    );
  return decision(
    true,
    p.primary,
    `${p.primary} ready (${primary.ready}/${primary.desired}) for ${healthy.toFixed(1)} s: traffic back from ${p.backup}`,
    state,
  );
}
