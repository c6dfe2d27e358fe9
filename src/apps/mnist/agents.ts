/**
 * The four agents of the paper's Table V, as plain agent specs on the generic runtime:
 *
 *   tracker   every interval: count new predictions; IF ≥ predictionThreshold THEN call checker.check_predictions
 *   checker   on check_predictions: collect the new inputs → detector workflow (score, flag, pick within the
 *             label budget, label by the oracle)
 *   planner   every interval: IF ≥ retrainThreshold new labelled samples THEN training workflow (fine-tune
 *             production) → candidate; IF candidate beats production on the held-out drifted set THEN call
 *             executor.change_model, ELSE archive the candidate
 *   executor  on change_model: promote the version in the registry, upgrade the online workflow to it
 *
 * Thresholds, interval and budget are parameters (a person or another agent can tune them at run
 * time with `scanflow agent tune` / the setParameters update).
 */
import type { AgentSpec, Json } from '../../agents/spec.js';
import { TaskQueues } from '../../agents/conventions.js';
import { CLASSIFIER_MODEL, HELD_OUT_KEY, HELD_OUT_METRIC, MNIST_APP, SERVING_REF, SERVING_SERVICE } from './names.js';

export interface MnistAgentParameters {
  /** Trigger period of the tracker and the planner, e.g. "1h" (paper) or "5s" (demo). */
  interval: string;
  predictionThreshold: number;
  retrainThreshold: number;
  /** Labels the checker may ask the oracle for per check. */
  labelsPerCheck: number;
  pickMethod: 'kde' | 'top-score-diverse' | 'least-confidence' | 'random';
  retrainEpochs: number;
  /** Seed of the traffic stream (names the batches the oracle labels from) and of training. */
  seed: number;
}

export const defaultMnistAgentParameters: MnistAgentParameters = {
  interval: '1h',
  predictionThreshold: 1000,
  retrainThreshold: 100,
  labelsPerCheck: 100,
  pickMethod: 'least-confidence',
  retrainEpochs: 4,
  seed: 7,
};

const ml = { taskQueue: TaskQueues.ml } as const;

export function mnistAgents(p: MnistAgentParameters = defaultMnistAgentParameters): AgentSpec[] {
  const parameters = p as unknown as Record<string, Json>;
  const tracker: AgentSpec = {
    app: MNIST_APP,
    name: 'tracker',
    template: 'tracker',
    parameters,
    strategies: [
      {
        name: 'count-predictions',
        when: { every: p.interval },
        sense: [
          {
            activity: 'countPredictions',
            args: { model: CLASSIFIER_MODEL, afterKey: { $ref: 'beliefs.cursor' } },
            as: 'predictions',
            ...ml,
          },
        ],
        if: { compare: [{ $ref: 'beliefs.predictions.count' }, '>=', { $ref: 'params.predictionThreshold' }] },
        then: [
          {
            call: {
              agent: 'checker',
              name: 'check_predictions',
              args: {
                afterKey: { $ref: 'beliefs.cursor' },
                untilKey: { $ref: 'results.predictions.lastKey' },
                count: { $ref: 'results.predictions.count' },
              },
            },
          },
          // Only now that the checker has the window does the tracker move past it.
          { activity: 'scanflowLog', args: { $ref: 'results.predictions.lastKey' }, as: 'cursor', remember: true },
        ],
      },
    ],
  };
  const checker: AgentSpec = {
    app: MNIST_APP,
    name: 'checker',
    template: 'checker',
    parameters,
    strategies: [
      {
        name: 'check-predictions',
        when: { call: 'check_predictions' },
        then: [
          {
            activity: 'mnistCollectPredictions',
            args: {
              afterKey: { $ref: 'event.args.afterKey' },
              untilKey: { $ref: 'event.args.untilKey' },
              streamSeed: { $ref: 'params.seed' },
              checkId: { $ref: 'event.callId' },
            },
            as: 'collected',
            ...ml,
            timeout: '5m',
          },
          {
            child: {
              workflowType: 'detectorWorkflow',
              taskQueue: TaskQueues.ml,
              timeout: '30m',
              args: {
                data: { $ref: 'results.collected.datasetKey' },
                pick: {
                  budget: { $ref: 'params.labelsPerCheck' },
                  method: { $ref: 'params.pickMethod' },
                  seed: { $ref: 'params.seed' },
                },
                label: { batchKeys: { $ref: 'results.collected.trafficBatchKeys' } },
              },
            },
            as: 'detection',
          },
        ],
      },
    ],
  };
  const planner: AgentSpec = {
    app: MNIST_APP,
    name: 'planner',
    template: 'planner',
    parameters,
    strategies: [
      {
        name: 'retrain',
        when: { every: p.interval },
        sense: [
          { activity: 'mnistLabelledPool', as: 'labelled', ...ml },
          { activity: 'mnistCandidateVerdict', as: 'verdict', ...ml },
        ],
        // One candidate at a time: a new one is trained only once the last one was promoted or rejected.
        if: {
          and: [
            { compare: [{ $ref: 'beliefs.labelled.newSamples' }, '>=', { $ref: 'params.retrainThreshold' }] },
            { compare: [{ $ref: 'beliefs.verdict.pending' }, '==', false] },
          ],
        },
        then: [
          {
            child: {
              workflowType: 'trainingWorkflow',
              taskQueue: TaskQueues.ml,
              timeout: '60m',
              args: {
                retrain: {
                  labelledData: { $ref: 'results.labelled.keys' },
                  epochs: { $ref: 'params.retrainEpochs' },
                  seed: { $ref: 'params.seed' },
                  notes: 'planner: retrain on labelled critical points',
                },
                evaluations: [{ data: HELD_OUT_KEY, recordAs: HELD_OUT_METRIC }],
              },
            },
            as: 'candidate',
          },
        ],
      },
      {
        name: 'promote-if-better',
        when: { every: p.interval },
        sense: [{ activity: 'mnistCandidateVerdict', as: 'verdict', ...ml }],
        if: {
          and: [
            { compare: [{ $ref: 'beliefs.verdict.pending' }, '==', true] },
            { compare: [{ $ref: 'beliefs.verdict.better' }, '==', true] },
          ],
        },
        then: [
          {
            call: {
              agent: 'executor',
              name: 'change_model',
              args: {
                version: { $ref: 'results.verdict.version' },
                versionText: { $ref: 'results.verdict.versionText' },
              },
              wait: true,
            },
            as: 'upgrade',
          },
        ],
      },
      {
        name: 'reject-if-worse',
        when: { every: p.interval },
        sense: [{ activity: 'mnistCandidateVerdict', as: 'verdict', ...ml }],
        if: {
          and: [
            { compare: [{ $ref: 'beliefs.verdict.pending' }, '==', true] },
            { compare: [{ $ref: 'beliefs.verdict.better' }, '==', false] },
          ],
        },
        then: [
          {
            activity: 'archiveModel',
            args: { model: CLASSIFIER_MODEL, version: { $ref: 'results.verdict.version' } },
            ...ml,
          },
        ],
      },
    ],
  };
  const executor: AgentSpec = {
    app: MNIST_APP,
    name: 'executor',
    template: 'executor',
    parameters,
    strategies: [
      {
        name: 'change-model',
        when: { call: 'change_model' },
        if: { exists: { $ref: 'event.args.version' } },
        then: [
          {
            activity: 'promoteModel',
            args: { model: CLASSIFIER_MODEL, version: { $ref: 'event.args.version' } },
            as: 'promoted',
            ...ml,
          },
          {
            activity: 'upgradeOnlineWorkflow',
            taskQueue: TaskQueues.kubernetes,
            timeout: '5m',
            args: {
              ref: { ...SERVING_REF },
              service: SERVING_SERVICE,
              change: { env: { SCANFLOW_MODEL_VERSION: { $ref: 'event.args.versionText' } } },
            },
          },
          { activity: 'scanflowLog', args: { $ref: 'event.args.version' }, as: 'serving', remember: true },
        ],
      },
    ],
  };
  return [tracker, checker, planner, executor];
}
