import { describe, expect, it } from '@jest/globals';
import {
  activity,
  agent,
  and,
  callAgent,
  eq,
  every,
  gte,
  not,
  onCall,
  ref,
  when,
} from '../../../src/agents/builder.js';
import { checkerAgent, executorAgent, plannerAgent, trackerAgent } from '../../../src/agents/templates.js';

describe('the builder and templates', () => {
  it('produces exactly the JSON form', () => {
    const built = agent('mnist', 'tracker', 'tracker')
      .param('minPredictions', 1000)
      .strategy(
        when(every('10s'))
          .sense('countPredictions', 'predictions')
          .if(gte(ref('beliefs.predictions'), ref('params.minPredictions')))
          .then(callAgent('checker', 'check_predictions', { n: ref('beliefs.predictions') }))
          .named('count'),
      )
      .strategy(
        when(onCall('reset'))
          .if(and(not(eq(ref('event.args.force'), false))))
          .then(activity('resetCounter', undefined, { timeout: '5s' }))
          .named('reset'),
      )
      .build();
    expect(built).toEqual({
      app: 'mnist',
      name: 'tracker',
      template: 'tracker',
      parameters: { minPredictions: 1000 },
      strategies: [
        {
          name: 'count',
          when: { every: '10s' },
          sense: [{ activity: 'countPredictions', as: 'predictions' }],
          if: { compare: [{ $ref: 'beliefs.predictions' }, '>=', { $ref: 'params.minPredictions' }] },
          then: [
            { call: { agent: 'checker', name: 'check_predictions', args: { n: { $ref: 'beliefs.predictions' } } } },
          ],
        },
        {
          name: 'reset',
          when: { call: 'reset' },
          if: { and: [{ not: { compare: [{ $ref: 'event.args.force' }, '==', false] } }] },
          then: [{ activity: 'resetCounter', timeout: '5s' }],
        },
      ],
    });
    expect(() =>
      agent('mnist', 'x')
        .strategy(when(every('soon')).named('s'))
        .build(),
    ).toThrow('strategies[0].when.every: expected a duration like "10s"');
  });

  it('builds the four templates with their sensors and actions as parameters', () => {
    const tracker = trackerAgent({
      app: 'a',
      every: { every: '10s' },
      sensor: { activity: 'count', as: 'n' },
      threshold: 5,
      then: [{ call: { agent: 'checker', name: 'check' } }],
    });
    expect(tracker).toMatchObject({
      template: 'tracker',
      parameters: { threshold: 5 },
      strategies: [{ if: { compare: [{ $ref: 'beliefs.n' }, '>=', { $ref: 'params.threshold' }] } }],
    });
    expect(
      checkerAgent({ app: 'a', receive: 'check', check: [{ child: { workflowType: 'detectorWorkflow' } }] })
        .strategies[0]?.when,
    ).toEqual({ call: 'check' });
    expect(
      plannerAgent({
        app: 'a',
        every: { cron: '0 * * * *' },
        sense: [{ activity: 'picked', as: 'picked' }],
        decide: { compare: [{ $ref: 'beliefs.picked' }, '>=', 100] },
        plan: [{ tune: { agent: 'tracker', parameters: { threshold: 10 } } }],
      }).template,
    ).toBe('planner');
    expect(
      executorAgent({
        app: 'a',
        receive: 'change_model',
        apply: [{ activity: 'upgradeWorkflow', args: { $ref: 'event.args' } }],
      }).name,
    ).toBe('executor');
  });
});
