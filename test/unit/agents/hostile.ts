/**
 * Generated tables of hostile agent input, shared by the pure tables (test/unit/agents) and the
 * ones that go through the real dev server (test/agents/hostile.test.ts): malformed specs, and
 * malformed run-time updates (parameters, strategies, calls). Each case names the field path the
 * rejection must start with.
 */

/** A JSON value nested `depth` levels deep (lists), built without recursion. */
export function deepList(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}
/** A constraint nested `depth` levels deep in `not`. */
export function deepNot(depth: number): unknown {
  let v: unknown = { compare: [1, '>', 0] };
  for (let i = 0; i < depth; i++) v = { not: v };
  return v;
}
/** An object whose own key is `key` (JSON.parse keeps "__proto__" as an own key, as the server's payloads do). */
export const ownKey = (key: string, value: unknown = 1): Record<string, unknown> =>
  JSON.parse(`{${JSON.stringify(key)}: ${JSON.stringify(value)}}`) as Record<string, unknown>;

/** A valid spec using every part of the format; hostile cases change one field of it. */
export function baseSpec(app = 'hostile', name = 'target') {
  return {
    app,
    name,
    template: 'custom',
    parameters: { min: 1 },
    decisionLogSize: 20,
    strategies: [
      { name: 'tick', when: { every: '1h', offset: '1m' }, then: [{ activity: 'note', args: { tag: 'tick' } }] },
      { name: 'nightly', when: { cron: '0 3 * * *' }, then: [{ activity: 'note', args: { tag: 'nightly' } }] },
      { name: 'once', when: { at: '2099-01-01T00:00:00Z' }, then: [{ activity: 'note', args: { tag: 'once' } }] },
      { name: 'mixed', when: { or: [{ every: '2h' }, { cron: '0 4 * * *' }] }, then: [] },
      {
        name: 'check',
        when: { call: 'check' },
        sense: [{ activity: 'readValue', args: { key: 'level' }, as: 'level' }],
        if: { compare: [{ $ref: 'beliefs.level' }, '>=', { $ref: 'params.min' }] },
        then: [
          { activity: 'note', args: { tag: 'check', n: { $ref: 'event.args.n' } }, as: 'noted', timeout: '10s' },
          { call: { agent: 'other', name: 'ping' } },
          { child: { workflowType: 'echoChildWorkflow', timeout: '1m' } },
          { tune: { parameters: { min: 1 } } },
        ],
      },
    ],
  };
}

type Spec = ReturnType<typeof baseSpec>;
export interface HostileCase {
  name: string;
  /** The spec with one field made hostile. */
  spec: (base: Spec) => unknown;
  /** The path the first issue must start with. */
  path: string;
}

const strategy = (i: number, change: Record<string, unknown>) => (s: Spec) => {
  const strategies: unknown[] = [...s.strategies];
  strategies[i] = { ...s.strategies[i], ...change };
  return { ...s, strategies };
};
const when = (i: number, w: unknown) => strategy(i, { when: w });
const action = (index: number, change: unknown) => (s: Spec) => {
  const check = s.strategies[4]!;
  const then: unknown[] = [...check.then];
  then[index] = change;
  return strategy(4, { then })(s);
};
const activity = (change: Record<string, unknown>) => action(0, { activity: 'note', ...change });
const sensor = (change: Record<string, unknown>) =>
  strategy(4, { sense: [{ activity: 'readValue', as: 'level', ...change }] });
const top = (change: Record<string, unknown>) => (s: Spec) => ({ ...s, ...change });

/** Values of the wrong JSON type (or shape) for a field that wants a string. */
const NOT_STRINGS: [string, unknown][] = [
  ['null', null],
  ['a number', 42],
  ['a boolean', true],
  ['a list', ['x']],
  ['an object', { x: 1 }],
  ['a deep list', deepList(4000)],
];
const HUGE = 'x'.repeat(100_000);

function forEach(label: string, values: [string, unknown][], make: (v: unknown) => (s: Spec) => unknown, path: string) {
  return values.map(([what, v]) => ({ name: `${label}: ${what}`, spec: make(v), path }));
}

/** The generated table of malformed specs. */
export function hostileSpecs(): HostileCase[] {
  const cases: HostileCase[] = [
    // the document
    ...forEach(
      'spec',
      [...NOT_STRINGS.slice(0, 4), ['a string', 'spec'], ['a deep list', deepList(100_000)]],
      (v) => () => v,
      'spec',
    ),
    { name: 'an unknown top-level field', spec: top({ colour: 'red' }), path: 'colour' },
    {
      name: 'a top-level __proto__',
      spec: (s) => ({ ...ownKey('__proto__', { polluted: true }), ...s }),
      path: '__proto__',
    },
    { name: 'a top-level constructor', spec: (s) => ({ ...s, constructor: 1 }), path: 'constructor' },
    {
      name: 'a spec over the size limit',
      spec: top({ parameters: Object.fromEntries([...Array(40).keys()].map((i) => [`p${i}`, 'x'.repeat(10_000)])) }),
      path: 'spec',
    },
    // app, name, template, decision log
    ...forEach(
      'app',
      [
        ...NOT_STRINGS,
        ['empty', ''],
        ['upper case', 'MNIST'],
        ['a dot', 'a.b'],
        ['too long', 'a'.repeat(64)],
        ['huge', HUGE],
        ['a NUL', 'a\u0000b'],
      ],
      (v) => top({ app: v }),
      'app',
    ),
    ...forEach(
      'name',
      [...NOT_STRINGS, ['a slash', 'a/b'], ['__proto__', '__proto__'], ['spaces', 'a b']],
      (v) => top({ name: v }),
      'name',
    ),
    ...forEach(
      'template',
      [
        ['unknown', 'boss'],
        ['a number', 3],
        ['__proto__', '__proto__'],
      ],
      (v) => top({ template: v }),
      'template',
    ),
    ...forEach(
      'decisionLogSize',
      [
        ['zero', 0],
        ['negative', -1],
        ['too big', 1001],
        ['fractional', 1.5],
        ['a string', '5'],
        ['huge', 1e300],
      ],
      (v) => top({ decisionLogSize: v }),
      'decisionLogSize',
    ),
    // parameters
    ...forEach(
      'parameters',
      [
        ['a list', [1]],
        ['a string', 'x'],
        ['null', null],
      ],
      (v) => top({ parameters: v }),
      'parameters',
    ),
    {
      name: 'parameters: __proto__',
      spec: top({ parameters: ownKey('__proto__', { polluted: true }) }),
      path: 'parameters.__proto__',
    },
    {
      name: 'parameters: constructor',
      spec: top({ parameters: ownKey('constructor', 1) }),
      path: 'parameters.constructor',
    },
    { name: 'parameters: toString', spec: top({ parameters: ownKey('toString', 'x') }), path: 'parameters.toString' },
    {
      name: 'parameters: nested __proto__',
      spec: top({ parameters: { a: ownKey('__proto__', { x: 1 }) } }),
      path: 'parameters.a.__proto__',
    },
    { name: 'parameters: deep value', spec: top({ parameters: { a: deepList(4000) } }), path: 'parameters.a' },
    { name: 'parameters: a huge string', spec: top({ parameters: { a: 'x'.repeat(20_000) } }), path: 'parameters.a' },
    { name: 'parameters: a huge key', spec: top({ parameters: ownKey('k'.repeat(300)) }), path: 'parameters' },
    // strategies
    ...forEach(
      'strategies',
      [
        ['an object', {}],
        ['a string', 'x'],
        ['null', null],
      ],
      (v) => top({ strategies: v }),
      'strategies',
    ),
    {
      name: 'strategies: more than 100',
      spec: top({ strategies: [...Array(101).keys()].map((i) => ({ name: `s${i}`, when: { call: 'x' }, then: [] })) }),
      path: 'strategies',
    },
    {
      name: 'strategies: a duplicate name',
      spec: (s) => ({ ...s, strategies: [...s.strategies, s.strategies[0]] }),
      path: 'strategies[5].name',
    },
    { name: 'strategy: not an object', spec: (s) => ({ ...s, strategies: [42] }), path: 'strategies[0]' },
    { name: 'strategy: an unknown field', spec: strategy(0, { unless: {} }), path: 'strategies[0].unless' },
    ...forEach(
      'strategy name',
      [...NOT_STRINGS, ['upper case', 'Tick'], ['__proto__', '__proto__']],
      (v) => strategy(0, { name: v }),
      'strategies[0].name',
    ),
    // WHEN: every and offset
    ...forEach(
      'every',
      [
        ...NOT_STRINGS,
        ['zero', '0s'],
        ['sub-second', '1500ms'],
        ['sub-millisecond', '0.5ms'],
        ['over a year', '400d'],
        ['an exponent', '1e3s'],
        ['negative', '-5s'],
        ['huge', '99999999999999999999999d'],
        ['words', 'often'],
        ['no unit', '10'],
      ],
      (v) => when(0, { every: v }),
      'strategies[0].when.every',
    ),
    ...forEach(
      'offset',
      [
        ['equal to the interval', '1h'],
        ['longer than the interval', '2h'],
        ['sub-second', '500ms'],
        ['a number', 5],
      ],
      (v) => when(0, { every: '1h', offset: v }),
      'strategies[0].when.offset',
    ),
    // WHEN: cron
    ...forEach(
      'cron',
      [
        ...NOT_STRINGS,
        ['a hexadecimal field', '0x1F * * * *'],
        ['an exponent field', '1e1 * * * *'],
        ['a negative field', '-5 * * * *'],
        ['a reversed range', '5-1 * * * *'],
        ['a double range', '1-2-3 * * * *'],
        ['a zero step', '*/0 * * * *'],
        ['a fractional step', '*/1.5 * * * *'],
        ['minute 60', '60 * * * *'],
        ['hour 24', '0 24 * * *'],
        ['day 0', '0 0 0 * *'],
        ['month 13', '0 0 1 13 *'],
        ['weekday 8', '0 0 * * 8'],
        ['year 1969', '0 0 1 1 * 1969'],
        ['year 2101', '0 0 1 1 * 2101'],
        ['year 1999 in seven fields', '0 0 0 1 1 * 1999'],
        ['three fields', '* * *'],
        ['eight fields', '* * * * * * * *'],
        ['blank', '   '],
        ['too long', `0 ${'1,'.repeat(100)}2 * * *`],
        ['huge', HUGE],
      ],
      (v) => when(1, { cron: v }),
      'strategies[1].when.cron',
    ),
    // WHEN: at
    ...forEach(
      'at',
      [
        ...NOT_STRINGS,
        ['February 31', '2026-02-31T00:00:00Z'],
        ['April 31', '2026-04-31T12:00:00Z'],
        ['February 29 of a common year', '2027-02-29T00:00:00Z'],
        ['month 13', '2026-13-01T00:00:00Z'],
        ['hour 24', '2026-01-01T24:00:00Z'],
        ['second 60', '2026-01-01T00:00:60Z'],
        ['a zone of +25:00', '2026-01-01T00:00:00+25:00'],
        ['before 2000', '1999-12-31T23:59:59Z'],
        ['after 2100', '2101-01-01T00:00:00Z'],
        ['after 2100 in UTC', '2100-12-31T23:30:00-01:00'],
        ['a date only', '2026-01-01'],
        ['no zone', '2026-01-01T00:00:00'],
        ['milliseconds', '2026-01-01T00:00:00.5Z'],
        ['words', 'tomorrow'],
      ],
      (v) => when(2, { at: v }),
      'strategies[2].when.at',
    ),
    // WHEN: hybrids and calls
    { name: 'or: one member', spec: when(3, { or: [{ every: '1h' }] }), path: 'strategies[3].when.or' },
    {
      name: 'or: eleven members',
      spec: when(3, { or: [...Array(11).keys()].map((i) => ({ every: `${i + 1}h` })) }),
      path: 'strategies[3].when.or',
    },
    {
      name: 'or: a nested and',
      spec: when(3, { or: [{ and: [] }, { every: '1h' }] }),
      path: 'strategies[3].when.or[0]',
    },
    {
      name: 'or: a call member',
      spec: when(3, { or: [{ call: 'x' }, { every: '1h' }] }),
      path: 'strategies[3].when.or[0]',
    },
    {
      name: 'and: a date first',
      spec: when(3, { and: [{ at: '2026-01-01T00:00:00Z' }, { every: '1h' }] }),
      path: 'strategies[3].when.and[0]',
    },
    {
      name: 'and: a bad cron member',
      spec: when(3, { and: [{ every: '1h' }, { cron: '0x1F * * * *' }] }),
      path: 'strategies[3].when.and[1].cron',
    },
    { name: 'when: two kinds', spec: when(3, { every: '1h', call: 'x' }), path: 'strategies[3].when' },
    { name: 'when: nothing', spec: when(3, {}), path: 'strategies[3].when' },
    {
      name: 'when: __proto__',
      spec: when(3, ownKey('__proto__', { every: '1h' })),
      path: 'strategies[3].when.__proto__',
    },
    ...forEach(
      'call name',
      [...NOT_STRINGS, ['upper case', 'Check'], ['empty', '']],
      (v) => when(4, { call: v }),
      'strategies[4].when.call',
    ),
    // IF
    { name: 'if: nested 4000 deep', spec: strategy(4, { if: deepNot(4000) }), path: 'strategies[4].if' },
    { name: 'if: nested 100 deep', spec: strategy(4, { if: deepNot(100) }), path: 'strategies[4].if' },
    {
      name: 'if: a comparison of two',
      spec: strategy(4, { if: { compare: [1, '>'] } }),
      path: 'strategies[4].if.compare',
    },
    {
      name: 'if: an unknown operator',
      spec: strategy(4, { if: { compare: [1, '=>', 2] } }),
      path: 'strategies[4].if.compare[1]',
    },
    {
      name: 'if: an object operand',
      spec: strategy(4, { if: { compare: [{ n: 1 }, '>', 2] } }),
      path: 'strategies[4].if.compare[0]',
    },
    {
      name: 'if: a reference to the prototype chain',
      spec: strategy(4, { if: { exists: { $ref: 'nowhere.constructor' } } }),
      path: 'strategies[4].if.exists.$ref',
    },
    {
      name: 'if: a huge reference',
      spec: strategy(4, { if: { exists: { $ref: `beliefs.${'x'.repeat(300)}` } } }),
      path: 'strategies[4].if.exists.$ref',
    },
    { name: 'if: an empty and', spec: strategy(4, { if: { and: [] } }), path: 'strategies[4].if.and' },
    {
      name: 'if: fifty-one items',
      spec: strategy(4, { if: { or: [...Array(51)].map(() => ({ exists: { $ref: 'beliefs.x' } })) } }),
      path: 'strategies[4].if.or',
    },
    // sensors
    {
      name: 'sense: twenty-one sensors',
      spec: strategy(4, { sense: [...Array(21)].map((_, i) => ({ activity: 'readValue', as: `v${i}` })) }),
      path: 'strategies[4].sense',
    },
    ...forEach(
      'sensor as',
      [
        ['__proto__', '__proto__'],
        ['constructor', 'constructor'],
        ['toString', 'toString'],
        ['valueOf', 'valueOf'],
        ['hasOwnProperty', 'hasOwnProperty'],
        ['a digit first', '1x'],
        ['a dot', 'a.b'],
        ['missing', undefined],
      ],
      (v) => sensor({ as: v }),
      'strategies[4].sense[0].as',
    ),
    ...forEach(
      'sensor activity',
      [
        ['empty', ''],
        ['huge', HUGE],
        ['a number', 1],
      ],
      (v) => sensor({ activity: v }),
      'strategies[4].sense[0].activity',
    ),
    {
      name: 'sensor: args with __proto__',
      spec: sensor({ args: ownKey('__proto__', { polluted: true }) }),
      path: 'strategies[4].sense[0].args.__proto__',
    },
    // actions
    {
      name: 'then: fifty-one actions',
      spec: strategy(4, { then: [...Array(51)].map(() => ({ activity: 'note' })) }),
      path: 'strategies[4].then',
    },
    { name: 'action: no kind', spec: action(0, { run: 'x' }), path: 'strategies[4].then[0]' },
    { name: 'action: a string', spec: action(0, 'note'), path: 'strategies[4].then[0]' },
    ...forEach(
      'action timeout',
      [
        ['sub-millisecond', '0.5ms'],
        ['a millisecond', '1ms'],
        ['half a second', '500ms'],
        ['over a week', '8d'],
        ['zero', '0s'],
        ['a number', 10],
      ],
      (v) => activity({ timeout: v }),
      'strategies[4].then[0].timeout',
    ),
    ...forEach(
      'action heartbeat',
      [
        ['sub-millisecond', '0.1ms'],
        ['zero', '0s'],
        ['over a week', '30d'],
      ],
      (v) => activity({ heartbeat: v }),
      'strategies[4].then[0].heartbeat',
    ),
    ...forEach(
      'action attempts',
      [
        ['zero', 0],
        ['too many', 101],
        ['fractional', 1.5],
        ['a string', '3'],
      ],
      (v) => activity({ attempts: v }),
      'strategies[4].then[0].attempts',
    ),
    ...forEach(
      'action taskQueue',
      [
        ['empty', ''],
        ['huge', HUGE],
      ],
      (v) => activity({ taskQueue: v }),
      'strategies[4].then[0].taskQueue',
    ),
    ...forEach(
      'action as',
      [
        ['__proto__', '__proto__'],
        ['constructor', 'constructor'],
        ['isPrototypeOf', 'isPrototypeOf'],
      ],
      (v) => activity({ as: v }),
      'strategies[4].then[0].as',
    ),
    {
      name: 'action: remember as a string',
      spec: activity({ remember: 'yes' }),
      path: 'strategies[4].then[0].remember',
    },
    {
      name: 'action args: an unknown reference root',
      spec: activity({ args: { v: { $ref: 'nowhere.x' } } }),
      path: 'strategies[4].then[0].args.v.$ref',
    },
    {
      name: 'action args: __proto__',
      spec: activity({ args: ownKey('__proto__', { polluted: true }) }),
      path: 'strategies[4].then[0].args.__proto__',
    },
    {
      name: 'action args: constructor deep inside',
      spec: activity({ args: { a: [{ b: ownKey('constructor') }] } }),
      path: 'strategies[4].then[0].args.a[0].b.constructor',
    },
    {
      name: 'action args: nested 4000 deep',
      spec: activity({ args: deepList(4000) }),
      path: 'strategies[4].then[0].args',
    },
    {
      name: 'action args: a huge string',
      spec: activity({ args: { s: 'x'.repeat(20_000) } }),
      path: 'strategies[4].then[0].args.s',
    },
    {
      name: 'action args: Infinity',
      spec: activity({ args: { n: Number.POSITIVE_INFINITY } }),
      path: 'strategies[4].then[0].args.n',
    },
    ...forEach(
      'call agent',
      [
        ['upper case', 'Other'],
        ['__proto__', '__proto__'],
        ['huge', HUGE],
      ],
      (v) => action(1, { call: { agent: v, name: 'ping' } }),
      'strategies[4].then[1].call.agent',
    ),
    {
      name: 'call: wait as a string',
      spec: action(1, { call: { agent: 'other', name: 'ping', wait: 'yes' } }),
      path: 'strategies[4].then[1].call.wait',
    },
    ...forEach(
      'child timeout',
      [
        ['sub-millisecond', '0.5ms'],
        ['over a year', '400d'],
        ['words', 'later'],
      ],
      (v) => action(2, { child: { workflowType: 'w', timeout: v } }),
      'strategies[4].then[2].child.timeout',
    ),
    {
      name: 'child: a huge workflow id',
      spec: action(2, { child: { workflowType: 'w', workflowId: HUGE } }),
      path: 'strategies[4].then[2].child.workflowId',
    },
    {
      name: 'tune: parameters __proto__',
      spec: action(3, { tune: { parameters: ownKey('__proto__', { polluted: true }) } }),
      path: 'strategies[4].then[3].tune.parameters.__proto__',
    },
    {
      name: 'tune: parameters as a list',
      spec: action(3, { tune: { parameters: [1] } }),
      path: 'strategies[4].then[3].tune.parameters',
    },
    {
      name: 'tune: a result name',
      spec: action(3, { tune: { parameters: {} }, as: 'x' }),
      path: 'strategies[4].then[3].as',
    },
  ];
  return cases;
}

/** One malformed run-time update, and the path its rejection must start with. */
export interface HostileUpdate {
  name: string;
  kind: 'setParameters' | 'addStrategy' | 'replaceStrategy' | 'removeStrategy' | 'call';
  input: unknown;
  path: string;
}

/** The generated table of malformed run-time updates against baseSpec() (or any agent with a `check` strategy). */
export function hostileUpdates(): HostileUpdate[] {
  const params = (name: string, input: unknown, path: string): HostileUpdate => ({
    name: `setParameters: ${name}`,
    kind: 'setParameters',
    input,
    path,
  });
  const add = (name: string, input: unknown, path: string): HostileUpdate => ({
    name: `addStrategy: ${name}`,
    kind: 'addStrategy',
    input,
    path,
  });
  const call = (name: string, input: unknown, path: string): HostileUpdate => ({
    name: `call: ${name}`,
    kind: 'call',
    input,
    path,
  });
  const ok = { name: 'late', when: { every: '1h' }, then: [{ activity: 'note' }] };
  return [
    params('a list', [1], 'parameters'),
    params('a string', 'x', 'parameters'),
    params('null', null, 'parameters'),
    params('__proto__', ownKey('__proto__', { polluted: true }), 'parameters.__proto__'),
    params('constructor', ownKey('constructor', 1), 'parameters.constructor'),
    params('valueOf', ownKey('valueOf', 1), 'parameters.valueOf'),
    params('a nested __proto__', { a: ownKey('__proto__', 1) }, 'parameters.a.__proto__'),
    params('a value nested 4000 deep', { a: deepList(4000) }, 'parameters.a'),
    params('a value nested 70 deep', { a: deepList(70) }, 'parameters.a'),
    params('a huge string', { a: 'x'.repeat(20_000) }, 'parameters.a'),
    params('a huge key', ownKey('k'.repeat(300)), 'parameters'),
    params('a reference with an unknown root', { a: { $ref: 'nowhere.x' } }, 'parameters.a.$ref'),
    params(
      'a spec that would be too large',
      Object.fromEntries([...Array(30).keys()].map((i) => [`p${i}`, 'x'.repeat(10_000)])),
      'parameters',
    ),
    add('not an object', 42, 'strategy'),
    add('a hexadecimal cron', { ...ok, when: { cron: '0x1F * * * *' } }, 'strategy.when.cron'),
    add('an exponent cron', { ...ok, when: { cron: '1e1 * * * *' } }, 'strategy.when.cron'),
    add('a negative cron', { ...ok, when: { cron: '-5 * * * *' } }, 'strategy.when.cron'),
    add('February 31', { ...ok, when: { at: '2026-02-31T00:00:00Z' } }, 'strategy.when.at'),
    add('an offset longer than the interval', { ...ok, when: { every: '1m', offset: '2m' } }, 'strategy.when.offset'),
    add('as __proto__', { ...ok, then: [{ activity: 'note', as: '__proto__' }] }, 'strategy.then[0].as'),
    add(
      'a sub-millisecond timeout',
      { ...ok, then: [{ activity: 'note', timeout: '0.5ms' }] },
      'strategy.then[0].timeout',
    ),
    add('a constraint 4000 deep', { ...ok, if: deepNot(4000) }, 'strategy.if'),
    add('a duplicate name', { ...ok, name: 'check' }, 'strategy.name'),
    add('an upper-case name', { ...ok, name: 'Late' }, 'strategy.name'),
    add('an unknown field', { ...ok, colour: 'red' }, 'strategy.colour'),
    add('fifty-one actions', { ...ok, then: [...Array(51)].map(() => ({ activity: 'note' })) }, 'strategy.then'),
    {
      name: 'replaceStrategy: an unknown name',
      kind: 'replaceStrategy',
      input: { ...ok, name: 'nobody' },
      path: 'strategy.name',
    },
    {
      name: 'replaceStrategy: a bad cron',
      kind: 'replaceStrategy',
      input: { ...ok, name: 'check', when: { cron: '0 24 * * *' } },
      path: 'strategy.when.cron',
    },
    { name: 'removeStrategy: an unknown name', kind: 'removeStrategy', input: 'nobody', path: 'no strategy' },
    { name: 'removeStrategy: __proto__', kind: 'removeStrategy', input: '__proto__', path: 'no strategy' },
    call('no name', { args: {} }, 'call.name'),
    call('an upper-case name', { name: 'Check' }, 'call.name'),
    call('a name too long', { name: 'c'.repeat(300) }, 'call.name'),
    call('args nested 4000 deep', { name: 'check', args: deepList(4000) }, 'call.args'),
    call('args over 64 KiB', { name: 'check', args: { s: 'x'.repeat(70_000) } }, 'call.args'),
    call(
      'args with __proto__',
      { name: 'check', args: ownKey('__proto__', { polluted: true }) },
      'call.args.__proto__',
    ),
    call('a huge call id', { name: 'check', callId: 'c'.repeat(300) }, 'call.callId'),
    call('a numeric caller', { name: 'check', caller: 7 }, 'call.caller'),
  ];
}

/** Whether every line of a rejection names a field path (or the document) before its message. */
export function namesAPath(line: string): boolean {
  return /^(spec|no strategy|[A-Za-z_$][\w$]*(\[\d+\]|\.[^\s:]+)*): \S/.test(line) || /^no strategy /.test(line);
}
