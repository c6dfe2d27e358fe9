import { describe, expect, it } from '@jest/globals';
import { demoTrainingJobs } from '../../../src/apps/mnist/kubernetes/training-options.js';

describe("the Kubernetes demo's training Jobs, from the environment", () => {
  it('retrains in a Job with a 500m CPU limit and 1536Mi by default, and the switch reads like every other', () => {
    const jobs = demoTrainingJobs({});
    expect(jobs.enabled).toBe(true);
    expect(jobs.resources.limits).toMatchObject({ cpu: '500m', memory: '1536Mi' });
    expect(demoTrainingJobs({ SCANFLOW_TRAIN_IN_JOB: '' }).enabled).toBe(true);
    expect(demoTrainingJobs({ SCANFLOW_TRAIN_IN_JOB: '1' }).enabled).toBe(true);
    expect(demoTrainingJobs({ SCANFLOW_TRAIN_IN_JOB: '0' }).enabled).toBe(false);
  });

  it('names the variable and the value it refuses', () => {
    expect(() => demoTrainingJobs({ SCANFLOW_TRAIN_IN_JOB: 'yes' })).toThrow(
      'SCANFLOW_TRAIN_IN_JOB must be 0 or 1, got "yes"',
    );
    expect(() => demoTrainingJobs({ SCANFLOW_TRAINING_JOB_CPU: 'lots' })).toThrow(/SCANFLOW_TRAINING_JOB_CPU.*"lots"/);
    expect(() => demoTrainingJobs({ SCANFLOW_TRAINING_JOB_MEMORY: '2GB' })).toThrow(
      /SCANFLOW_TRAINING_JOB_MEMORY.*"2GB"/,
    );
  });

  it('takes none for no CPU limit', () => {
    expect(demoTrainingJobs({ SCANFLOW_TRAINING_JOB_CPU: 'none' }).resources.limits?.cpu).toBeUndefined();
  });
});
