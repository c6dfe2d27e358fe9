import { describe, expect, it } from '@jest/globals';
import { lowerTrainingPriority, trainingNice } from '../../../src/activities/ml/priority.js';

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

  it('does nothing when turned off; lowers TensorFlow threads once (if this process has any), never throws', () => {
    expect(lowerTrainingPriority(0)).toBe(0);
    // Other test files in this process may have loaded TensorFlow: its threads are lowered once.
    const first = lowerTrainingPriority(10);
    expect(Number.isInteger(first) && first >= 0).toBe(true);
    expect(lowerTrainingPriority(10)).toBe(0);
  });
});
