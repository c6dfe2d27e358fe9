import { describe, expect, it } from '@jest/globals';
import { agent, callAgent, activity, every, gte, onCall, ref, when, and, not, eq } from '../../src/agents/builder.js';
import { andVerdict, dateAsCron, gateAccepts, planTrigger } from '../../src/agents/trigger-schedule.js';
import { evaluateConstraint, resolveRefs, type RunContext } from '../../src/agents/refs.js';
import { checkerAgent, executorAgent, plannerAgent, trackerAgent } from '../../src/agents/templates.js';
import { cronMatches, parseCron } from '../../src/agents/cron.js';
import { SpecError, validateAgentSpec } from '../../src/agents/validate.js';

const issuesOf = (raw: unknown): string[] => {
  try {
    validateAgentSpec(raw);
    return [];
  } catch (err) {
    return (err as SpecError).issues;
  }
};

describe('agent spec validation', () => {
  const base = { app: 'mnist', name: 'tracker', strategies: [] as unknown[] };

  it('names the exact path of every bad field', () => {
    expect(
      issuesOf({
        ...base,
        strategies: [
          { name: 'a', when: { every: '10s' }, then: [] },
          { name: 'b', when: { every: 'often' }, then: [] },
        ],
      }),
    ).toEqual(['strategies[1].when.every: expected a duration like "10s", got "often"']);
    expect(
      issuesOf({
        ...base,
        strategies: [{ name: 'a', when: { and: [{ every: '1s' }, { cron: '* 25 * * *' }] }, then: [] }],
      }),
    ).toEqual([
      'strategies[0].when.and[1].cron: expected a cron expression like "*/5 * * * *": hour: \'25\' is not within 0-23',
    ]);
    expect(
      issuesOf({
        ...base,
        strategies: [{ name: 'a', when: { call: 'x' }, if: { compare: [{ $ref: 'beliefs.n' }, '=>', 3] }, then: [] }],
      }),
    ).toEqual(['strategies[0].if.compare[1]: expected one of > >= < <= == !=, got "=>"']);
    expect(
      issuesOf({
        ...base,
        strategies: [{ name: 'a', when: { call: 'x' }, then: [{ call: { agent: 'Checker', name: 'c' } }] }],
      }),
    ).toEqual([
      'strategies[0].then[0].call.agent: expected a name of lower-case letters, digits, \'_\' or \'-\' (like "tracker"), got "Checker"',
    ]);
    expect(
      issuesOf({
        ...base,
        strategies: [{ name: 'a', when: { call: 'x' }, then: [{ activity: 'f', args: { v: { $ref: 'nowhere.x' } } }] }],
      }),
    ).toEqual([
      'strategies[0].then[0].args.v.$ref: expected a reference starting with beliefs/params/event/results, got "nowhere.x"',
    ]);
    expect(issuesOf({ ...base, strategies: [{ name: 'a', when: { at: '2026-01-01' }, then: [] }] })[0]).toMatch(
      /^strategies\[0\]\.when\.at: expected an ISO 8601 date-time/,
    );
    expect(issuesOf({ ...base, strategies: [{ name: 'a', when: { every: '1500ms' }, then: [] }] })[0]).toMatch(
      /^strategies\[0\]\.when\.every: expected a whole number of seconds/,
    );
    expect(issuesOf({ ...base, strategies: [{ name: 'a', when: {}, then: [] }] })).toEqual([
      'strategies[0].when: expected one of "every", "at", "cron", "or", "and"',
    ]);
    expect(
      issuesOf({
        ...base,
        strategies: [
          { name: 'a', when: { call: 'x' }, then: [] },
          { name: 'a', when: { call: 'y' }, then: [] },
        ],
      }),
    ).toEqual(['strategies[1].name: duplicate strategy name "a"']);
    expect(issuesOf({ ...base, colour: 'red' })).toEqual([
      'colour: unknown field (allowed: app, name, template, strategies, parameters, decisionLogSize)',
    ]);
    expect(
      issuesOf({
        ...base,
        strategies: [{ name: 'a', when: { and: [{ at: '2026-01-01T00:00:00Z' }, { every: '1s' }] }, then: [] }],
      })[0],
    ).toMatch(/^strategies\[0\]\.when\.and\[0\]: the first AND member drives the schedule/);
    expect(issuesOf('nope')).toEqual(['spec: expected an object, got "nope"']);
  });

  it('fills defaults and keeps valid specs as they are', () => {
    expect(validateAgentSpec(base)).toEqual({ ...base, template: 'custom', parameters: {} });
  });
});

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

describe('constraints and references', () => {
  const ctx: RunContext = {
    beliefs: { n: 12, label: 'b' },
    params: { min: 10 },
    event: { args: { items: [1, 2] } },
    results: {},
  };
  it('evaluates comparisons, and/or/not and exists; a missing value satisfies no comparison', () => {
    expect(evaluateConstraint({ compare: [{ $ref: 'beliefs.n' }, '>=', { $ref: 'params.min' }] }, ctx)).toBe(true);
    expect(evaluateConstraint({ compare: [{ $ref: 'beliefs.n' }, '<', 5] }, ctx)).toBe(false);
    expect(evaluateConstraint({ compare: [{ $ref: 'beliefs.missing' }, '<', 5] }, ctx)).toBe(false);
    expect(evaluateConstraint({ not: { compare: [{ $ref: 'beliefs.missing' }, '<', 5] } }, ctx)).toBe(true);
    expect(
      evaluateConstraint(
        { or: [{ exists: { $ref: 'beliefs.nothing' } }, { compare: [{ $ref: 'beliefs.label' }, '==', 'b'] }] },
        ctx,
      ),
    ).toBe(true);
    expect(evaluateConstraint({ compare: [{ $ref: 'event.args.items.1' }, '==', 2] }, ctx)).toBe(true);
    expect(resolveRefs({ a: { $ref: 'beliefs.n' }, b: [{ $ref: 'nothing.here' }] }, ctx)).toEqual({ a: 12, b: [null] });
  });
});

describe('triggers as schedules', () => {
  it('maps Table III triggers and hybrids', () => {
    expect(planTrigger({ every: '10s', offset: '2s' })).toEqual({
      intervals: [{ everyMs: 10_000, offsetMs: 2000 }],
      cronExpressions: [],
    });
    expect(planTrigger({ at: '2026-03-04T05:06:07Z' })).toEqual({
      intervals: [],
      cronExpressions: ['7 6 5 4 3 * 2026'],
    });
    expect(planTrigger({ or: [{ every: '1m' }, { cron: '0 9 * * 1' }] })).toEqual({
      intervals: [{ everyMs: 60_000, offsetMs: 0 }],
      cronExpressions: ['0 9 * * 1'],
    });
    expect(
      planTrigger({ and: [{ every: '10m' }, { cron: '* 9-17 * * 1-5' }, { at: '2026-01-01T00:00:00Z' }] }),
    ).toEqual({
      intervals: [{ everyMs: 600_000, offsetMs: 0 }],
      cronExpressions: [],
      startAt: '2026-01-01T00:00:00.000Z',
      and: {
        driver: { every: 600_000, offset: 0 },
        gates: [{ cron: '* 9-17 * * 1-5' }, { notBefore: Date.parse('2026-01-01T00:00:00Z') }],
      },
    });
    expect(dateAsCron('2030-12-31T23:59:58Z')).toBe('58 59 23 31 12 * 2030');
  });

  it('decides AND at fire time: intersection, dates as "from", manual triggers pass', () => {
    const plan = planTrigger({
      and: [{ every: '10m' }, { cron: '* 9-17 * * 1-5' }, { at: '2026-01-05T00:00:00Z' }],
    }).and!;
    expect(andVerdict(plan, Date.parse('2026-01-05T09:10:00Z')).fire).toBe(true); // Monday 09:10
    expect(andVerdict(plan, Date.parse('2026-01-05T18:00:00Z')).fire).toBe(false); // after hours
    expect(andVerdict(plan, Date.parse('2026-01-04T10:00:00Z')).fire).toBe(false); // Sunday (and before the date)
    expect(andVerdict(plan, Date.parse('2026-01-05T20:03:17Z'))).toEqual({
      fire: true,
      reason: 'manual trigger (off the driver grid): AND gates bypassed',
    });
    expect(gateAccepts({ every: 2000, offset: 0 }, 1_000_000_000_000)).toBe(true);
    expect(gateAccepts({ every: 3000, offset: 1000 }, 1_000_000_001_000)).toBe(false);
  });

  it('parses and matches 5-, 6- and 7-field cron expressions', () => {
    const t = Date.parse('2026-02-03T04:05:06Z'); // a Tuesday
    expect(cronMatches(parseCron('6 5 4 3 2 2 2026'), t)).toBe(true);
    expect(cronMatches(parseCron('*/2 * * * * * *'), t)).toBe(true);
    expect(cronMatches(parseCron('5 4 * * 2'), t)).toBe(false); // 5 fields: second 0
    expect(cronMatches(parseCron('5 4 * * 2'), Date.parse('2026-02-03T04:05:00Z'))).toBe(true);
    expect(cronMatches(parseCron('@hourly'), Date.parse('2026-02-03T04:00:00Z'))).toBe(true);
    expect(cronMatches(parseCron('0 0 * * 7'), Date.parse('2026-02-01T00:00:00Z'))).toBe(true); // 7 = Sunday
    expect(() => parseCron('* * *')).toThrow('expected 5, 6 or 7 fields, got 3');
  });
});
