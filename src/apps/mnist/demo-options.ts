/**
 * Options of `npm run demo` (the MNIST case study on one machine), parsed from flags with
 * errors that name the flag.
 */
import { parseArgs } from 'node:util';
import { CORRUPTIONS, type CorruptionName } from '../../ml/corruptions.js';
import { validateSchedule, type DriftPhase } from '../../ml/drift-stream.js';
import type { MnistAgentParameters } from './agents.js';

export interface DemoOptions {
  intervals: number;
  intervalSeconds: number;
  /** Images sent to the model server per interval (the tracker's threshold is predictionThreshold). */
  predictionsPerInterval: number;
  imagesPerRequest: number;
  labelBudget: number;
  seed: number;
  schedule: DriftPhase[];
  agents: MnistAgentParameters;
  classifierEpochs: number;
  detectorEpochs: number;
  /** Retrain V1 and the detector even when cached. */
  fresh: boolean;
  /** Directory of this run (report, knowledge base, platform logs). */
  runDir?: string;
  /** Where the model server and the platform worker run (default local: processes on this machine). */
  platform?: 'local' | 'kubernetes';
}

export const usage = `usage: npm run demo -- [options]

  --intervals N              intervals of traffic (default 10)
  --interval-seconds S       length of one interval = the tracker's trigger period (default 12)
  --planner-interval-seconds S   the planner's trigger period (default half the interval: a retrain
                             starts sooner after a check, its candidate is judged sooner after it)
  --predictions N            images sent per interval (default 1200)
  --label-budget N           labels the oracle may give over the whole run (default 1000)
  --labels-per-check N       samples the checker picks per check for training (default 80): true labels
                             (oracle, mix) or the model's own predictions (pseudo)
  --eval-samples N           samples per check set aside (a random sample of the window, never trained on,
                             at most half of it) to judge candidates on the stream (default 600; 0 in
                             pseudo mode)
  --eval-label-cap N         true labels the planner may spend on evaluation over the run, only where a
                             candidate and production disagree (default 250)
  --eval-labels-per-verdict N   disagreements one verdict labels at most: the first N in one fixed random
                             order, so labels bought for one candidate serve the next (default 80)
  --label-mode oracle|pseudo|mix   oracle: true labels within the budget; pseudo: the paper's pseudo-labels
                             (0 true labels; candidates judged on the fixed held-out set); mix: true labels
                             plus --pseudo-labels confident flagged samples per check (default mix: the
                             best gain per true label in bench/ml.ts --labels)
  --pseudo-labels N          mix: confident flagged samples pseudo-labelled per check (default 100)
  --min-eval N               promotion rule: paired evaluation samples needed to decide (default 100)
  --alpha P                  promotion rule: one-sided significance of "better" (default 0.05)
  --prediction-threshold N   tracker: call the checker at N new predictions (default 1000)
  --retrain-threshold N      planner: retrain at N new labelled samples (default 100)
  --retrain-epochs N         planner: epochs of each candidate's fine-tuning (default 8)
  --pick kde|top-score-diverse|least-confidence|random   critical-point picking (default least-confidence)
  --drift JSON | all | gradual   drift schedule (default gradual): phases {fromBatch, share, corruptions}
  --seed N                   seed of the stream, training and picking (default 7)
  --fresh                    retrain the baseline V1 and the detector even if cached
  --run-dir DIR              where this run's report and knowledge base go (default .scanflow/demo/<time>)
  --platform local|kubernetes   local (default): model server and workers as processes on this machine;
                             kubernetes: a real-node cluster started here (root; bash scripts/provision nodes),
                             the model server as a Deployment + Service, the platform worker in a pod, the
                             knowledge base on the S3 server (waits for another real-node cluster to stop
                             for up to SCANFLOW_NODES_WAIT_SECONDS, default 1800)`;

/** Corruptions the baseline model handles worst first: the drift the agents must repair. */
const GRADUAL: DriftPhase[] = [
  { fromBatch: 0, share: 0.2, corruptions: ['fog', 'stripe', 'zigzag', 'canny_edges', 'dotted_line'] },
  { fromBatch: 2, share: 0.5, corruptions: [...CORRUPTIONS] },
  { fromBatch: 4, share: 0.8, corruptions: [...CORRUPTIONS] },
];

function schedulePreset(value: string): DriftPhase[] {
  if (value === 'gradual') return GRADUAL;
  if (value === 'all') return [{ fromBatch: 0, share: 1, corruptions: [...CORRUPTIONS] }];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error(
      `--drift must be 'gradual', 'all' or a JSON list of phases like [{"fromBatch":0,"share":0.5,"corruptions":["fog"]}], got ${JSON.stringify(value)}`,
    );
  }
  validateSchedule(parsed as DriftPhase[]);
  return parsed as DriftPhase[];
}

function int(flag: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${flag} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

export function parseDemoOptions(argv: string[]): DemoOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      intervals: { type: 'string' },
      'interval-seconds': { type: 'string' },
      'planner-interval-seconds': { type: 'string' },
      predictions: { type: 'string' },
      'label-budget': { type: 'string' },
      'labels-per-check': { type: 'string' },
      'eval-samples': { type: 'string' },
      'eval-label-cap': { type: 'string' },
      'eval-labels-per-verdict': { type: 'string' },
      'label-mode': { type: 'string' },
      'pseudo-labels': { type: 'string' },
      'min-eval': { type: 'string' },
      alpha: { type: 'string' },
      'prediction-threshold': { type: 'string' },
      'retrain-threshold': { type: 'string' },
      'retrain-epochs': { type: 'string' },
      pick: { type: 'string' },
      drift: { type: 'string' },
      seed: { type: 'string' },
      fresh: { type: 'boolean', default: false },
      'run-dir': { type: 'string' },
      platform: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const pick = (values.pick ?? 'least-confidence') as MnistAgentParameters['pickMethod'];
  if (!['kde', 'top-score-diverse', 'least-confidence', 'random'].includes(pick))
    throw new Error(
      `--pick must be kde, top-score-diverse, least-confidence or random, got ${JSON.stringify(values.pick)}`,
    );
  const labelMode = (values['label-mode'] ?? 'mix') as NonNullable<MnistAgentParameters['labelMode']>;
  if (!['oracle', 'pseudo', 'mix'].includes(labelMode))
    throw new Error(`--label-mode must be oracle, pseudo or mix, got ${JSON.stringify(values['label-mode'])}`);
  const alpha = values.alpha === undefined ? 0.05 : Number(values.alpha);
  if (!(alpha > 0 && alpha < 1))
    throw new Error(`--alpha must be a number in (0, 1), got ${JSON.stringify(values.alpha)}`);
  const pseudo = labelMode === 'pseudo';
  const evalSamples = int('eval-samples', values['eval-samples'], pseudo ? 0 : 600, 0);
  const evalLabelCap = int('eval-label-cap', values['eval-label-cap'], pseudo ? 0 : 250, 0);
  if (pseudo && (evalSamples > 0 || evalLabelCap > 0))
    throw new Error(
      '--eval-samples and --eval-label-cap must be 0 with --label-mode pseudo: pseudo-label mode spends no true label',
    );
  const platform = (values.platform ?? 'local') as NonNullable<DemoOptions['platform']>;
  if (!['local', 'kubernetes'].includes(platform))
    throw new Error(`--platform must be local or kubernetes, got ${JSON.stringify(values.platform)}`);
  const intervalSeconds = int('interval-seconds', values['interval-seconds'], 12, 2);
  const plannerSeconds =
    values['planner-interval-seconds'] === undefined ? intervalSeconds / 2 : Number(values['planner-interval-seconds']);
  if (!(plannerSeconds >= 1 && plannerSeconds <= intervalSeconds))
    throw new Error(
      `--planner-interval-seconds must be a number from 1 to the interval (${intervalSeconds}), got ${JSON.stringify(values['planner-interval-seconds'])}`,
    );
  const seed = int('seed', values.seed, 7, 0);
  const schedule = schedulePreset(values.drift ?? 'gradual');
  return {
    intervals: int('intervals', values.intervals, 10),
    intervalSeconds,
    predictionsPerInterval: int('predictions', values.predictions, 1200),
    imagesPerRequest: 16,
    labelBudget: int('label-budget', values['label-budget'], 1000, 0),
    seed,
    schedule,
    agents: {
      interval: `${intervalSeconds}s`,
      plannerInterval: `${Math.round(plannerSeconds * 1000)}ms`,
      predictionThreshold: int('prediction-threshold', values['prediction-threshold'], 1000),
      retrainThreshold: int('retrain-threshold', values['retrain-threshold'], 100),
      labelsPerCheck: int('labels-per-check', values['labels-per-check'], 80, 0),
      pickMethod: pick,
      retrainEpochs: int('retrain-epochs', values['retrain-epochs'], 8),
      seed,
      evaluationSamplesPerCheck: evalSamples,
      evaluationLabelCap: evalLabelCap,
      evaluationLabelsPerVerdict: int('eval-labels-per-verdict', values['eval-labels-per-verdict'], 80),
      labelMode,
      pseudoLabelsPerCheck: labelMode === 'mix' ? int('pseudo-labels', values['pseudo-labels'], 100, 0) : 0,
      minEvaluation: int('min-eval', values['min-eval'], 100),
      promotionAlpha: alpha,
    },
    classifierEpochs: 2,
    detectorEpochs: 1,
    fresh: values.fresh ?? false,
    runDir: values['run-dir'],
    platform,
  };
}

/** Every corruption the schedule uses (the held-out set mixes the same ones). */
export function scheduleCorruptions(schedule: DriftPhase[]): CorruptionName[] {
  return [...new Set(schedule.flatMap((p) => p.corruptions))];
}

/** The largest corrupted share of the schedule: the held-out set reflects the worst drift. */
export function scheduleMaxShare(schedule: DriftPhase[]): number {
  return Math.max(...schedule.map((p) => p.share));
}
