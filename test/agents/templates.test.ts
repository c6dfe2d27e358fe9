import { describe, expect, it } from '@jest/globals';
import { checkerAgent, executorAgent, plannerAgent, trackerAgent } from '../../src/agents/templates.js';
import { agentTestBed, eventually, sleep } from './helpers.js';

describe('the four templates working together (case study 1 in miniature)', () => {
  const bed = agentTestBed();

  it('tracker → checker on enough predictions; planner → executor when the new model is better', async () => {
    const { rec, client, app, runUntil } = await bed.start('mnist');
    rec.values.set('predictions', 10);
    rec.values.set('candidate', { version: 2, accuracy: 0.9 });
    await runUntil(async () => {
      const specs = [
        trackerAgent({
          app,
          every: { every: '1s' },
          threshold: 1000,
          sensor: { activity: 'readValue', args: { key: 'predictions' }, as: 'predictions' },
          then: [
            { call: { agent: 'checker', name: 'check_predictions', args: { count: { $ref: 'beliefs.predictions' } } } },
          ],
        }),
        checkerAgent({
          app,
          receive: 'check_predictions',
          check: [{ activity: 'note', args: { tag: 'detect', count: { $ref: 'event.args.count' } } }],
        }),
        plannerAgent({
          app,
          every: { every: '1s' },
          parameters: { productionAccuracy: 0.92 },
          sense: [{ activity: 'readValue', args: { key: 'candidate' }, as: 'candidate' }],
          decide: { compare: [{ $ref: 'beliefs.candidate.accuracy' }, '>', { $ref: 'params.productionAccuracy' }] },
          plan: [
            {
              call: {
                agent: 'executor',
                name: 'change_model',
                args: { version: { $ref: 'beliefs.candidate.version' } },
                wait: true,
              },
              as: 'upgrade',
            },
            { tune: { parameters: { productionAccuracy: { $ref: 'beliefs.candidate.accuracy' } } } },
          ],
        }),
        executorAgent({
          app,
          receive: 'change_model',
          apply: [{ activity: 'note', args: { tag: 'upgrade', version: { $ref: 'event.args.version' } } }],
        }),
      ];
      const handles = await Promise.all(specs.map((s) => client.start(s)));
      // below both thresholds: sensors ran (waited for: a loaded machine may take seconds), nothing acted
      await eventually(
        () => (rec.calls.filter((c) => c.activity === 'readValue').length >= 2 ? true : undefined),
        'two sensor readings',
      );
      expect(rec.noted()).toHaveLength(0);

      rec.values.set('predictions', 1200);
      await eventually(() => (rec.noted('detect').length > 0 ? true : undefined), 'the checker to run');
      expect(rec.noted('detect')[0]?.args).toEqual({ tag: 'detect', count: 1200 });

      rec.values.set('candidate', { version: 3, accuracy: 0.95 });
      await eventually(() => (rec.noted('upgrade').length > 0 ? true : undefined), 'the executor to upgrade');
      await sleep(2500);
      // the planner raised its own bar to the promoted model's accuracy, so v3 is promoted once
      expect(rec.noted('upgrade').map((c) => c.args)).toEqual([{ tag: 'upgrade', version: 3 }]);
      expect((await handles[2]!.state()).parameters).toEqual({ productionAccuracy: 0.95 });
      await Promise.all(handles.map((h) => h.stop()));
    });
  });
});
