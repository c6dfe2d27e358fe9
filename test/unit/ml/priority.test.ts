import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainingNice } from '../../../src/activities/ml/priority.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('training priority (nice for TensorFlow compute threads)', () => {
  it.each([
    [undefined, 10],
    ['', 10],
    ['0', 0],
    ['15', 15],
    ['19', 19],
    ['20', 10],
    ['-5', 10],
    ['fast', 10],
  ])('SCANFLOW_TRAINING_NICE=%j → %d', (raw, nice) => {
    expect(trainingNice(raw === undefined ? {} : { SCANFLOW_TRAINING_NICE: raw })).toBe(nice);
  });

  it('does nothing when turned off; lowers the calling thread (and TensorFlow threads, if any) once', () => {
    // In a child process: the calling thread stays lowered, which must not slow the other tests.
    const script = `
      import { lowerTrainingPriority } from './src/activities/ml/priority.ts';
      import { getPriority } from 'node:os';
      const off = lowerTrainingPriority(0);
      const before = getPriority(0);
      const first = lowerTrainingPriority(10);
      console.log(JSON.stringify({ off, before, first, after: getPriority(0), again: lowerTrainingPriority(10) }));`;
    const out = execFileSync(join(root, 'node_modules/.bin/tsx'), ['--eval', script], { cwd: root, encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').at(-1) ?? '{}');
    expect(r.off).toBe(0);
    if (process.platform !== 'linux') return;
    expect(r.first).toBeGreaterThanOrEqual(r.before < 10 ? 1 : 0);
    expect(r.after).toBeGreaterThanOrEqual(10);
    expect(r.again).toBe(0);
  });
});
