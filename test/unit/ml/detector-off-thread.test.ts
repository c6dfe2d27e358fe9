import { describe, expect, it } from '@jest/globals';
import { detectorOffThread } from '../../../src/activities/ml/detection.js';

describe('SCANFLOW_DETECTOR_OFF_THREAD (where trainDetector trains the autoencoder)', () => {
  it.each([
    [undefined, true],
    ['', true],
    ['1', true],
    ['0', false],
  ])('%j → off-thread %s', (raw, offThread) => {
    expect(detectorOffThread(raw === undefined ? {} : { SCANFLOW_DETECTOR_OFF_THREAD: raw })).toBe(offThread);
  });

  it.each(['yes', 'true', '2', ' 1'])('refuses %j, naming the variable and the values it takes', (raw) => {
    expect(() => detectorOffThread({ SCANFLOW_DETECTOR_OFF_THREAD: raw })).toThrow(
      `SCANFLOW_DETECTOR_OFF_THREAD must be 0 or 1, got ${JSON.stringify(raw)}`,
    );
  });
});
