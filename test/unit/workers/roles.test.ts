/** Worker assembly from bad input: unknown roles, two activity sets claiming one name. */
import { describe, expect, it } from '@jest/globals';
import { parseRoles } from '../../../workers/parse-roles.js';
import { mergeActivities } from '../../../workers/app.js';

const noop = async () => undefined;

describe('SCANFLOW_WORKER_ROLES', () => {
  it.each([
    ['unset', undefined, ['agents', 'ml', 'kubernetes', 'system']],
    ['all', 'all', ['agents', 'ml', 'kubernetes', 'system']],
    ['one role', 'ml', ['ml']],
    ['spaces and empty items', ' agents , ,kubernetes ', ['agents', 'kubernetes']],
  ])('accepts %s', (_name, raw, roles) => {
    expect(parseRoles(raw)).toEqual(roles);
  });

  it.each([
    ['an unknown role', 'ml,gpu', "unknown role 'gpu'"],
    ['a task queue name instead of a role', 'scanflow-ml', "unknown role 'scanflow-ml'"],
    ['a wrong case', 'ML', "unknown role 'ML'"],
  ])('refuses %s, naming it and the known roles', (_name, raw, expected) => {
    expect(() => parseRoles(raw)).toThrow(expected);
    expect(() => parseRoles(raw)).toThrow('known: agents, ml, kubernetes, system');
  });
});

describe('activities of the runtime and the apps', () => {
  it('merges disjoint sets', () => {
    const merged = mergeActivities('ml', [
      { owner: 'the runtime', activities: { train: noop } },
      { owner: "app 'mnist'", activities: { collect: noop } },
    ]);
    expect(Object.keys(merged).sort()).toEqual(['collect', 'train']);
  });

  it('refuses two sets registering one name, naming both owners', () => {
    expect(() =>
      mergeActivities('ml', [
        { owner: 'the runtime', activities: { train: noop } },
        { owner: "app 'mnist'", activities: { train: noop } },
      ]),
    ).toThrow("task queue role 'ml': activity 'train' is registered by both the runtime and app 'mnist'");
  });
});
