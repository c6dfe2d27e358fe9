/**
 * The QoS tuner's second mode (autoscaler: 'keda-qps', the paper's Fig. 9): KEDA scales the
 * service on its answered queries/s (desired = ceil(total / T)), so the load per replica sits at
 * the threshold T whatever the load, and the only question is the headroom: how far below the
 * requirement T must sit so that the load's own rise during the autoscaler's reaction does not
 * break it. The sensor (surge.ts) measures J, the largest rise of the load within one reaction
 * time over the tuner's memory; the threshold that keeps the requirement through such a rise is
 *
 *   wanted = min(bound × targetFraction, bound × highFraction / max(1, J))   within [min, max]
 *
 * A smooth load (J ≈ 1) gives the target (cheap); a steep one gives headroom. Lowering (the safe
 * side: a late lowering costs the requirement, an early one only replica-seconds) goes to the
 * wanted threshold at once after the hold and the cooldown; raising needs the evidence to span
 * raiseEvidenceSeconds (a memory not yet full is no proof that the load will not step) and moves
 * in bounded steps. A wanted threshold within the HPA's tolerance (10 %) of the current one is no
 * reason to change: KEDA's HPA would not change the replicas for it either.
 */
import {
  changedState,
  clamp,
  decideThreshold,
  evaluationStart,
  finite,
  holdDecision,
  HPA_TOLERANCE,
  need,
  nextStreak,
  roundTo,
  tunerParams,
  type Direction,
  type TunerDecision,
  type TunerInput,
  type TunerState,
} from './decisions.js';

export interface KedaTunerDecision extends Omit<TunerDecision, 'model'> {
  /** The surge J read by the sensor (null: no load in the memory) and the seconds of evidence. */
  surge: number | null;
  evidenceSeconds: number;
  model: null;
}

export function decideKedaThreshold(input: TunerInput): KedaTunerDecision {
  const p = tunerParams(input.params ?? {});
  need(p.autoscaler === 'keda-qps', `autoscaler: decideKedaThreshold tunes keda-qps, got ${p.autoscaler}`);
  const { prev, from, band, target } = evaluationStart(input, p);
  const surge = finite(input.observed?.surge) && input.observed.surge > 0 ? input.observed.surge : null;
  const evidence = finite(input.observed?.evidenceSeconds) ? Math.max(0, input.observed.evidenceSeconds) : 0;
  const qps = input.observed?.qpsPerReplica;
  const value = finite(qps) ? qps : null;
  const wanted =
    surge === null
      ? null
      : clamp(roundTo(Math.min(target, band.high / Math.max(1, surge)), p.decimals), p.minThreshold, p.maxThreshold);
  const base = {
    from,
    metric: p.qosMetric,
    value,
    bound: p.qosBound,
    band,
    target,
    wanted,
    model: null,
    surge,
    evidenceSeconds: evidence,
  };
  const hold: (reason: string, streak: TunerState['streak']) => KedaTunerDecision = holdDecision(base, prev);
  if (wanted === null)
    return hold('no load in the memory (no traffic or no scrape): nothing is evidence', {
      direction: 'hold',
      count: 0,
    });
  const formula = `min(${target}, ${band.high} / max(1, J ${surge}))`;
  const direction: Direction =
    wanted < from && from - wanted > HPA_TOLERANCE * from
      ? 'lower'
      : wanted > from && wanted - from > HPA_TOLERANCE * from
        ? 'raise'
        : 'hold';
  const streak = nextStreak(prev, direction);
  if (direction === 'hold') return hold(`wanted ${wanted} = ${formula} within the HPA's tolerance of ${from}`, streak);
  if (streak.count < p.sustain)
    return hold(`${direction} wanted (${wanted} = ${formula}) for ${streak.count}/${p.sustain} evaluations`, streak);
  if (prev.cooldownLeft > 0)
    return hold(
      `${direction} wanted but cooling down after the last change (${prev.cooldownLeft} evaluations left)`,
      streak,
    );
  if (direction === 'raise' && evidence < p.raiseEvidenceSeconds)
    return hold(
      `raise wanted (${wanted} = ${formula}) but the evidence spans ${evidence} s < ${p.raiseEvidenceSeconds} s: no proof yet that the load will not step`,
      streak,
    );
  const limit = Math.min(p.maxStep, from * p.stepFraction);
  const next =
    direction === 'lower' ? wanted : clamp(roundTo(from + Math.min(limit, wanted - from), p.decimals), from, wanted);
  if (next === from) return hold(`${direction} wanted but the threshold is at its bound (${from})`, streak);
  return {
    ...base,
    change: true,
    threshold: next,
    direction,
    reason:
      direction === 'lower'
        ? `load surge J ${surge} within ${p.reactionSeconds} s (requirement at risk during a reaction) for ${streak.count} evaluations: threshold ${from} → ${next} q/s per replica (= ${formula}, at once)`
        : `load surge J ${surge} over ${evidence} s of evidence (slack) for ${streak.count} evaluations: threshold ${from} → ${next} q/s per replica (toward ${wanted} = ${formula}, step at most ${roundTo(limit, 2)})`,
    state: changedState(prev, p),
  };
}

/** The tuner of either mode: the activity mlperfTuneThreshold calls this. */
export function decideTuner(input: TunerInput): TunerDecision | KedaTunerDecision {
  return tunerParams(input.params ?? {}).autoscaler === 'keda-qps'
    ? decideKedaThreshold(input)
    : decideThreshold(input);
}
