import { describe, expect, it } from '@jest/globals';
import { SpecError, strategyIssues, validateAgentSpec } from '../../../src/agents/validate.js';

const issuesOf = (raw: unknown): string[] => {
  try {
    validateAgentSpec(raw);
    return [];
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    return err.issues;
  }
};

const base = { app: 'mnist', name: 'tracker', strategies: [] as unknown[] };
/** A spec whose only strategy is `strategy` (with a Call-Receive trigger and no actions unless given). */
const withStrategy = (strategy: Record<string, unknown>) => ({
  ...base,
  strategies: [{ name: 'a', when: { call: 'x' }, then: [], ...strategy }],
});
/** A constraint nested `depth` levels deep in `not`, with a bad comparison at the bottom. */
const deeplyNested = (depth: number): unknown =>
  depth === 0 ? { compare: [{ $ref: 'beliefs.n' }, '=>', 3] } : { not: deeplyNested(depth - 1) };
const NAME = `expected a name of lower-case letters, digits, '_' or '-' (like "tracker")`;

describe('agent spec validation: every bad field is named by its path', () => {
  it.each<[string, unknown, string[]]>([
    // the document itself
    ['not an object', 'nope', ['spec: expected an object, got "nope"']],
    ['a list instead of a spec', [1], ['spec: expected an object, got [1]']],
    [
      'missing required fields',
      {},
      [`app: ${NAME}, got nothing`, `name: ${NAME}, got nothing`, 'strategies: expected a list, got nothing'],
    ],
    [
      'an unknown top-level field',
      { ...base, colour: 'red' },
      ['colour: unknown field (allowed: app, name, template, parameters, decisionLogSize, strategies, $schema)'],
    ],
    // wrong types and values at the top level
    ['an upper-case app name', { ...base, app: 'MNIST' }, [`app: ${NAME}, got "MNIST"`]],
    ['a name with a dot', { ...base, name: 'a.b' }, [`name: ${NAME}, got "a.b"`]],
    ['a numeric name', { ...base, name: 7 }, [`name: ${NAME}, got 7`]],
    [
      'an unknown template',
      { ...base, template: 'boss' },
      ['template: expected one of tracker, checker, planner, executor, custom, got "boss"'],
    ],
    ['parameters as a list', { ...base, parameters: [1] }, ['parameters: expected an object, got [1]']],
    [
      'a parameter that is not JSON',
      { ...base, parameters: { n: Number.POSITIVE_INFINITY } },
      ['parameters.n: expected a finite number'],
    ],
    [
      'a zero decision log',
      { ...base, decisionLogSize: 0 },
      ['decisionLogSize: expected an integer in 1..1000, got 0'],
    ],
    ['strategies as an object', { ...base, strategies: {} }, ['strategies: expected a list, got {}']],
    // strategies
    [
      'duplicate strategy names',
      {
        ...base,
        strategies: [
          { name: 'a', when: { call: 'x' }, then: [] },
          { name: 'a', when: { call: 'y' }, then: [] },
        ],
      },
      ['strategies[1].name: duplicate strategy name "a"'],
    ],
    [
      'an unknown strategy field',
      withStrategy({ unless: {} }),
      ['strategies[0].unless: unknown field (allowed: name, when, sense, if, then)'],
    ],
    [
      'a strategy without actions',
      withStrategy({ then: undefined }),
      ['strategies[0].then: expected a list, got nothing'],
    ],
    // triggers (Table III)
    [
      'a bad duration',
      {
        ...base,
        strategies: [
          { name: 'a', when: { every: '10s' }, then: [] },
          { name: 'b', when: { every: 'often' }, then: [] },
        ],
      },
      ['strategies[1].when.every: expected a duration like "10s", got "often"'],
    ],
    [
      'a duration that is not a whole number of seconds',
      withStrategy({ when: { every: '1500ms' } }),
      ['strategies[0].when.every: expected a whole number of seconds (schedules fire on whole seconds), got "1500ms"'],
    ],
    [
      'a zero interval',
      withStrategy({ when: { every: '0s' } }),
      ['strategies[0].when.every: expected a duration like "10s", got "0s"'],
    ],
    [
      'a date without time',
      withStrategy({ when: { at: '2026-01-01' } }),
      [
        'strategies[0].when.at: expected an ISO 8601 date-time with seconds and zone like "2026-01-31T12:00:00Z", got "2026-01-01"',
      ],
    ],
    [
      'a bad cron field in an AND',
      withStrategy({ when: { and: [{ every: '1s' }, { cron: '* 25 * * *' }] } }),
      [`strategies[0].when.and[1].cron: expected a cron expression like "*/5 * * * *": hour: '25' is not within 0-23`],
    ],
    [
      'a cron with too few fields',
      withStrategy({ when: { cron: '* * *' } }),
      ['strategies[0].when.cron: expected a cron expression like "*/5 * * * *": expected 5, 6 or 7 fields, got 3'],
    ],
    [
      'an empty trigger',
      withStrategy({ when: {} }),
      ['strategies[0].when: expected one of "every", "at", "cron", "or", "and", "call"'],
    ],
    [
      'two kinds of trigger at once',
      withStrategy({ when: { call: 'x', every: '1s' } }),
      ['strategies[0].when: expected only one of every, call'],
    ],
    [
      'an OR of one member',
      withStrategy({ when: { or: [{ every: '1s' }] } }),
      ['strategies[0].when.or: expected at least 2 items'],
    ],
    [
      'a nested AND inside an OR',
      withStrategy({ when: { or: [{ and: [] }, { every: '1s' }] } }),
      ['strategies[0].when.or[0]: OR members must be simple triggers (every, at or cron), not nested and/or'],
    ],
    [
      'a date driving an AND',
      withStrategy({ when: { and: [{ at: '2026-01-01T00:00:00Z' }, { every: '1s' }] } }),
      [
        'strategies[0].when.and[0]: the first AND member drives the schedule: use "every" or "cron" there and put "at" later (it means "from this date on")',
      ],
    ],
    [
      'an unknown trigger field',
      withStrategy({ when: { every: '1s', jitter: '1s' } }),
      ['strategies[0].when.jitter: unknown field (allowed: every, offset)'],
    ],
    [
      'an upper-case call name',
      withStrategy({ when: { call: 'Check' } }),
      [`strategies[0].when.call: ${NAME}, got "Check"`],
    ],
    // constraints
    [
      'an unknown comparison operator',
      withStrategy({ if: { compare: [{ $ref: 'beliefs.n' }, '=>', 3] } }),
      ['strategies[0].if.compare[1]: expected one of > >= < <= == !=, got "=>"'],
    ],
    [
      'a comparison of two items',
      withStrategy({ if: { compare: [1, '>'] } }),
      ['strategies[0].if.compare: expected [left, operator, right] like [{"$ref": "beliefs.count"}, ">=", 1000]'],
    ],
    [
      'an object operand',
      withStrategy({ if: { compare: [{ n: 1 }, '>', 1] } }),
      ['strategies[0].if.compare[0]: expected a number, string, boolean, null or {"$ref": "beliefs.x"}, got {"n":1}'],
    ],
    [
      'exists without a reference',
      withStrategy({ if: { exists: 3 } }),
      ['strategies[0].if.exists: expected {"$ref": "..."}, got 3'],
    ],
    ['an empty AND constraint', withStrategy({ if: { and: [] } }), ['strategies[0].if.and: expected at least 1 item']],
    [
      'a deeply nested bad comparison',
      withStrategy({ if: deeplyNested(40) }),
      [`strategies[0].if${'.not'.repeat(40)}.compare[1]: expected one of > >= < <= == !=, got "=>"`],
    ],
    // references
    [
      'a reference with an unknown root in args',
      withStrategy({ then: [{ activity: 'f', args: { v: { $ref: 'nowhere.x' } } }] }),
      [
        'strategies[0].then[0].args.v.$ref: expected a reference starting with beliefs/params/event/results, got "nowhere.x"',
      ],
    ],
    [
      'a reference deep inside args',
      withStrategy({ then: [{ activity: 'f', args: { a: [{ b: [1, { $ref: 'belief.x' }] }] } }] }),
      [
        'strategies[0].then[0].args.a[0].b[1].$ref: expected a reference starting with beliefs/params/event/results, got "belief.x"',
      ],
    ],
    [
      'a reference in a constraint',
      withStrategy({ if: { compare: [{ $ref: 'param.n' }, '>', 1] } }),
      [
        'strategies[0].if.compare[0].$ref: expected a reference starting with beliefs/params/event/results, got "param.n"',
      ],
    ],
    // sensors and actions
    [
      'a sensor with a bad result name and options',
      withStrategy({ sense: [{ activity: '', as: '1x', timeout: 'x', attempts: 0.5 }] }),
      [
        'strategies[0].sense[0].activity: expected a non-empty string, got ""',
        `strategies[0].sense[0].as: expected an identifier (letters, digits, '_'; like "predictions"), got "1x"`,
        'strategies[0].sense[0].timeout: expected a duration like "10s", got "x"',
        'strategies[0].sense[0].attempts: expected an integer in 1..100, got 0.5',
      ],
    ],
    [
      'a sensor without a result name',
      withStrategy({ sense: [{ activity: 'count' }] }),
      [`strategies[0].sense[0].as: expected an identifier (letters, digits, '_'; like "predictions"), got nothing`],
    ],
    [
      'an action of no known kind',
      withStrategy({ then: [{ run: 'x' }] }),
      ['strategies[0].then[0]: expected one of "activity", "call", "child", "tune"'],
    ],
    [
      'an action that is a string',
      withStrategy({ then: ['note'] }),
      ['strategies[0].then[0]: expected an object, got "note"'],
    ],
    [
      'a call to an upper-case agent',
      withStrategy({ then: [{ call: { agent: 'Checker', name: 'c' } }] }),
      [`strategies[0].then[0].call.agent: ${NAME}, got "Checker"`],
    ],
    [
      'a call with wait as a string',
      withStrategy({ then: [{ call: { agent: 'checker', name: 'c', wait: 'yes' } }] }),
      ['strategies[0].then[0].call.wait: expected true or false, got "yes"'],
    ],
    [
      'a child with a bad timeout',
      withStrategy({ then: [{ child: { workflowType: 'w', timeout: 'later' } }] }),
      ['strategies[0].then[0].child.timeout: expected a duration like "10s", got "later"'],
    ],
    [
      'a tune with a result name',
      withStrategy({ then: [{ tune: { parameters: { x: 1 } }, as: 'q' }] }),
      ['strategies[0].then[0].as: unknown field (allowed: tune)'],
    ],
    [
      'a tune without parameters',
      withStrategy({ then: [{ tune: { agent: 'tracker' } }] }),
      ['strategies[0].then[0].tune.parameters: expected an object, got nothing'],
    ],
  ])('%s', (_case, spec, expected) => {
    expect(issuesOf(spec)).toEqual(expected);
  });
});

describe('agent spec validation: valid specs', () => {
  it('fills defaults and keeps valid specs as they are', () => {
    expect(validateAgentSpec(base)).toEqual({ ...base, template: 'custom', parameters: {} });
  });

  it('accepts and drops the editor-only $schema key', () => {
    expect(validateAgentSpec({ $schema: '../../schemas/agent-spec.schema.json', ...base })).toEqual({
      ...base,
      template: 'custom',
      parameters: {},
    });
  });

  it('accepts every trigger, constraint and action form', () => {
    const spec = {
      ...base,
      template: 'planner',
      parameters: { min: 3, nested: { list: [1, 'a', null, true] } },
      decisionLogSize: 10,
      strategies: [
        { name: 'a', when: { every: '10s', offset: '0s' }, then: [] },
        { name: 'b', when: { at: '2026-01-31T12:00:00Z' }, then: [] },
        { name: 'c', when: { or: [{ cron: '@hourly' }, { every: '1m' }] }, then: [] },
        { name: 'd', when: { and: [{ cron: '*/5 * * * *' }, { at: '2026-01-31T12:00:00+01:00' }] }, then: [] },
        {
          name: 'e',
          when: { call: 'check' },
          sense: [
            { activity: 'count', as: 'n', args: { $ref: 'event.args' }, timeout: '5s', attempts: 2, taskQueue: 'q' },
          ],
          if: {
            and: [
              { compare: [{ $ref: 'beliefs.n' }, '>=', { $ref: 'params.min' }] },
              { or: [{ exists: { $ref: 'results.n' } }, { not: { compare: ['a', '!=', null] } }] },
            ],
          },
          then: [
            { activity: 'note', args: [1, { $ref: 'results.n' }], as: 'noted', remember: true, heartbeat: '2s' },
            { call: { agent: 'checker', app: 'other', name: 'check', args: { n: 1 }, wait: true }, as: 'reply' },
            {
              child: {
                workflowType: 'w',
                args: { $ref: 'event.args' },
                workflowId: 'id',
                taskQueue: 'q',
                timeout: '1h',
              },
            },
            { tune: { agent: 'tracker', app: 'other', parameters: { min: { $ref: 'beliefs.n' } } } },
          ],
        },
      ],
    };
    expect(validateAgentSpec(spec)).toEqual(spec);
  });

  it('checks one strategy for the run-time add/replace updates', () => {
    expect(strategyIssues({ name: 'bad', when: { every: 'soon' }, then: [] })).toEqual([
      'strategy.when.every: expected a duration like "10s", got "soon"',
    ]);
    expect(strategyIssues({ name: 'ok', when: { call: 'x' }, then: [] })).toEqual([]);
  });
});
