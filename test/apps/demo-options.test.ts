import { describe, expect, it } from '@jest/globals';
import { parseDemoOptions, scheduleCorruptions, scheduleMaxShare } from '../../src/apps/mnist/demo-options.js';

describe('npm run demo options', () => {
  it('defaults to the paper-sized loop with compressed intervals', () => {
    const o = parseDemoOptions([]);
    if (o === 'help') throw new Error('unexpected help');
    expect(o).toMatchObject({
      intervals: 10,
      intervalSeconds: 12,
      predictionsPerInterval: 1200,
      labelBudget: 1000,
      seed: 7,
    });
    expect(o.agents).toMatchObject({
      interval: '12s',
      predictionThreshold: 1000,
      retrainThreshold: 100,
      pickMethod: 'least-confidence',
    });
    // Issue 14: the label mode measured best (bench/ml.ts --labels), stream evaluation, the promotion rule.
    expect(o.agents).toMatchObject({
      labelMode: 'mix',
      labelsPerCheck: 80,
      pseudoLabelsPerCheck: 100,
      evaluationSamplesPerCheck: 600,
      evaluationLabelCap: 250,
      retrainEpochs: 8,
      minEvaluation: 100,
      promotionAlpha: 0.05,
    });
    expect(o.detectorEpochs).toBe(1);
    expect(scheduleCorruptions(o.schedule)).toHaveLength(15);
    expect(scheduleMaxShare(o.schedule)).toBe(0.8);
  });

  it('takes a drift schedule as JSON', () => {
    const o = parseDemoOptions([
      '--drift',
      '[{"fromBatch":0,"share":0.3,"corruptions":["fog","zigzag"]}]',
      '--seed',
      '3',
    ]);
    if (o === 'help') throw new Error('unexpected help');
    expect(o.schedule).toEqual([{ fromBatch: 0, share: 0.3, corruptions: ['fog', 'zigzag'] }]);
    expect(o.agents.seed).toBe(3);
  });

  it('takes the label mode: pseudo spends no true label (no evaluation samples, the fixed set judges)', () => {
    const pseudo = parseDemoOptions(['--label-mode', 'pseudo']);
    if (pseudo === 'help') throw new Error('unexpected help');
    expect(pseudo.agents).toMatchObject({
      labelMode: 'pseudo',
      evaluationSamplesPerCheck: 0,
      evaluationLabelCap: 0,
      pseudoLabelsPerCheck: 0,
    });
    const oracle = parseDemoOptions([
      '--label-mode',
      'oracle',
      '--eval-samples',
      '300',
      '--min-eval',
      '150',
      '--alpha',
      '0.1',
    ]);
    if (oracle === 'help') throw new Error('unexpected help');
    expect(oracle.agents).toMatchObject({
      labelMode: 'oracle',
      pseudoLabelsPerCheck: 0,
      evaluationSamplesPerCheck: 300,
      minEvaluation: 150,
      promotionAlpha: 0.1,
    });
  });

  it.each([
    [['--label-mode', 'crowd'], /--label-mode must be oracle, pseudo or mix, got "crowd"/],
    [['--label-mode', 'pseudo', '--eval-samples', '10'], /pseudo-label mode spends no true label/],
    [['--alpha', '1'], /--alpha must be a number in \(0, 1\), got "1"/],
    [['--min-eval', '0'], /--min-eval must be an integer >= 1/],
    [['--intervals', '0'], /--intervals must be an integer >= 1, got "0"/],
    [['--interval-seconds', '1'], /--interval-seconds must be an integer >= 2/],
    [['--pick', 'best'], /--pick must be kde, top-score-diverse, least-confidence or random, got "best"/],
    [['--drift', 'stormy'], /--drift must be 'gradual', 'all' or a JSON list of phases/],
    [
      ['--drift', '[{"fromBatch":0,"share":2,"corruptions":["fog"]}]'],
      /schedule\[0\]\.share must be in \[0, 1\], got 2/,
    ],
    [
      ['--drift', '[{"fromBatch":0,"share":0.5,"corruptions":["smog"]}]'],
      /schedule\[0\]\.corruptions: unknown corruption "smog"/,
    ],
    [['--label-budget=-5'], /--label-budget must be an integer >= 0/],
    [['--colour'], /Unknown option '--colour'/],
  ])('rejects %j with a message naming the problem', (argv, message) => {
    expect(() => parseDemoOptions(argv)).toThrow(message);
  });
});
