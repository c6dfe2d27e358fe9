/**
 * The four agents of the paper's Table V, as plain agent specs on the generic runtime:
 *
 *   tracker   every interval: count new predictions; IF ≥ predictionThreshold THEN call checker.check_predictions
 *   checker   on check_predictions: collect the new inputs → detector workflow (score, flag, pick within the
 *             label budget, label by the oracle)
 *   planner   every planner interval: IF ≥ retrainThreshold new labelled samples THEN training workflow (fine-tune
 *             production) → candidate; IF candidate beats production beyond noise on the stream's evaluation
 *             samples (paired test, mnistCandidateVerdict) THEN call executor.change_model, ELSE archive it
 *   executor  on change_model: promote the version in the registry, upgrade the online workflow to it;
 *             every interval: IF the service runs another version than the registry's production THEN reconcile
 *
 * Thresholds, interval and budget are parameters (a person or another agent can tune them at run
 * time with `scanflow agent tune` / the setParameters update).
 */
import type { AgentSpec, Json } from '../../agents/spec.js';
import {
  activity,
  agent,
  and,
  callAgent,
  child,
  eq,
  every,
  exists,
  gte,
  onCall,
  ref,
  when,
} from '../../agents/builder.js';
import { TaskQueues } from '../../agents/conventions.js';
import { MODEL_VERSION_ENV } from '../../serving/model-version.js';
import { CLASSIFIER_MODEL, HELD_OUT_KEY, HELD_OUT_METRIC, MNIST_APP, SERVING_REF, SERVING_SERVICE } from './names.js';

export interface MnistAgentParameters {
  /** Trigger period of the tracker and the planner, e.g. "1h" (paper) or "5s" (demo). */
  interval: string;
  /**
   * The planner's own period when it should decide faster than the traffic window (absent: `interval`).
   * Its three strategies wait for a tick each (train on new labels; then judge the candidate), so a
   * shorter period starts a retrain sooner after a check and judges the candidate sooner after it.
   */
  plannerInterval?: string;
  predictionThreshold: number;
  retrainThreshold: number;
  /** Labels the checker may ask the oracle for per check. */
  labelsPerCheck: number;
  pickMethod: 'kde' | 'top-score-diverse' | 'least-confidence' | 'random';
  retrainEpochs: number;
  /** Seed of the traffic stream (names the batches the oracle labels from) and of training. */
  seed: number;
  /** Samples per check set aside to judge candidates on the stream (a random sample, never trained on). */
  evaluationSamplesPerCheck?: number;
  /** True labels evaluation may spend over the run (only where candidate and production disagree). */
  evaluationLabelCap?: number;
  /** Disagreements a verdict labels at most (the first ones in one fixed random order: reused across verdicts). */
  evaluationLabelsPerVerdict?: number;
  /** oracle: true labels; pseudo: the model's own predictions (0 true labels); mix: both (see detectorWorkflow). */
  labelMode?: 'oracle' | 'pseudo' | 'mix';
  /** mix: confident flagged samples pseudo-labelled per check. */
  pseudoLabelsPerCheck?: number;
  /** Promotion rule: paired evaluation samples needed to decide, one-sided significance level. */
  minEvaluation?: number;
  promotionAlpha?: number;
}

export const defaultMnistAgentParameters: MnistAgentParameters = {
  interval: '1h',
  predictionThreshold: 1000,
  retrainThreshold: 100,
  labelsPerCheck: 100,
  pickMethod: 'least-confidence',
  retrainEpochs: 4,
  seed: 7,
  evaluationSamplesPerCheck: 0,
  evaluationLabelCap: 0,
  evaluationLabelsPerVerdict: 40,
  labelMode: 'oracle',
  pseudoLabelsPerCheck: 0,
  minEvaluation: 50,
  promotionAlpha: 0.05,
};

const ml = { taskQueue: TaskQueues.ml } as const;

/** What the executor serves: the classifier, by the online workflow's model-server service. */
const servingTarget = { model: CLASSIFIER_MODEL, ref: { ...SERVING_REF }, service: SERVING_SERVICE };

export function mnistAgents(p: MnistAgentParameters = defaultMnistAgentParameters): AgentSpec[] {
  const parameters = { ...defaultMnistAgentParameters, ...p } as unknown as Record<string, Json>;
  const interval = every(p.interval);
  const plannerInterval = every(p.plannerInterval ?? p.interval);

  const tracker = agent(MNIST_APP, 'tracker', 'tracker')
    .params(parameters)
    .strategy(
      when(interval)
        .sense('countPredictions', 'predictions', { model: CLASSIFIER_MODEL, afterKey: ref('beliefs.cursor') }, ml)
        .if(gte(ref('beliefs.predictions.count'), ref('params.predictionThreshold')))
        .then(
          callAgent('checker', 'check_predictions', {
            afterKey: ref('beliefs.cursor'),
            untilKey: ref('results.predictions.lastKey'),
            count: ref('results.predictions.count'),
          }),
          // Only now that the checker has the window does the tracker move past it.
          activity('scanflowLog', ref('results.predictions.lastKey'), { as: 'cursor', remember: true }),
        )
        .named('count-predictions'),
    );

  const checker = agent(MNIST_APP, 'checker', 'checker')
    .params(parameters)
    .strategy(
      when(onCall('check_predictions'))
        .then(
          activity(
            'mnistCollectPredictions',
            {
              afterKey: ref('event.args.afterKey'),
              untilKey: ref('event.args.untilKey'),
              streamSeed: ref('params.seed'),
              checkId: ref('event.callId'),
            },
            { as: 'collected', ...ml, timeout: '5m' },
          ),
          child(
            'detectorWorkflow',
            {
              data: ref('results.collected.datasetKey'),
              pick: {
                budget: ref('params.labelsPerCheck'),
                method: ref('params.pickMethod'),
                seed: ref('params.seed'),
              },
              label: {
                batchKeys: ref('results.collected.trafficBatchKeys'),
                mode: ref('params.labelMode'),
                pseudoCount: ref('params.pseudoLabelsPerCheck'),
              },
              evaluation: { count: ref('params.evaluationSamplesPerCheck'), seed: ref('params.seed') },
            },
            { taskQueue: TaskQueues.ml, timeout: '30m', as: 'detection' },
          ),
        )
        .named('check-predictions'),
    );

  const rule = {
    minEvaluation: ref('params.minEvaluation'),
    alpha: ref('params.promotionAlpha'),
    labelCap: ref('params.evaluationLabelCap'),
    labelsPerVerdict: ref('params.evaluationLabelsPerVerdict'),
  };
  const verdict = (pending: boolean, better: boolean) =>
    and(eq(ref('beliefs.verdict.pending'), pending), eq(ref('beliefs.verdict.better'), better));
  const planner = agent(MNIST_APP, 'planner', 'planner')
    .params(parameters)
    .strategy(
      when(plannerInterval)
        .sense('mnistLabelledPool', 'labelled', undefined, ml)
        .sense('mnistCandidateVerdict', 'verdict', rule, ml)
        // One candidate at a time: a new one is trained only once the last one was promoted or rejected.
        .if(
          and(
            gte(ref('beliefs.labelled.newSamples'), ref('params.retrainThreshold')),
            eq(ref('beliefs.verdict.pending'), false),
          ),
        )
        .then(
          child(
            'trainingWorkflow',
            {
              retrain: {
                labelledData: ref('results.labelled.keys'),
                epochs: ref('params.retrainEpochs'),
                seed: ref('params.seed'),
                notes: 'planner: retrain on labelled critical points',
              },
              evaluations: [{ data: HELD_OUT_KEY, recordAs: HELD_OUT_METRIC }],
            },
            { taskQueue: TaskQueues.ml, timeout: '60m', as: 'candidate' },
          ),
        )
        .named('retrain'),
    )
    .strategy(
      when(plannerInterval)
        .sense('mnistCandidateVerdict', 'verdict', rule, ml)
        .if(verdict(true, true))
        .then(
          callAgent(
            'executor',
            'change_model',
            { version: ref('results.verdict.version') },
            { wait: true, as: 'upgrade' },
          ),
        )
        .named('promote-if-better'),
    )
    .strategy(
      when(plannerInterval)
        .sense('mnistCandidateVerdict', 'verdict', rule, ml)
        .if(verdict(true, false))
        .then(activity('archiveModel', { model: CLASSIFIER_MODEL, version: ref('results.verdict.version') }, ml))
        .named('reject-if-worse'),
    );

  const executor = agent(MNIST_APP, 'executor', 'executor')
    .params(parameters)
    .strategy(
      when(onCall('change_model'))
        .if(exists(ref('event.args.version')))
        .then(
          activity(
            'promoteModel',
            { model: CLASSIFIER_MODEL, version: ref('event.args.version') },
            { as: 'promoted', ...ml },
          ),
          activity(
            'upgradeOnlineWorkflow',
            {
              ref: { ...SERVING_REF },
              service: SERVING_SERVICE,
              // The version stays a number end to end; the platform writes env values as text in one place.
              change: { env: { [MODEL_VERSION_ENV]: ref('event.args.version') } },
            },
            { taskQueue: TaskQueues.kubernetes, timeout: '5m' },
          ),
          activity('scanflowLog', ref('event.args.version'), { as: 'serving', remember: true }),
        )
        .named('change-model'),
    )
    .strategy(
      // The registry is the truth: an upgrade that failed after a promotion (a refused object, a
      // replica that died mid-switch) or a service changed by hand is brought back to production.
      when(interval)
        .sense('servingDrift', 'drift', servingTarget, { taskQueue: TaskQueues.kubernetes })
        .if(eq(ref('beliefs.drift.drifted'), true))
        .then(activity('reconcileServedModel', servingTarget, { taskQueue: TaskQueues.kubernetes, timeout: '5m' }))
        .named('reconcile-serving'),
    );

  return [tracker, checker, planner, executor].map((a) => a.build());
}
