/**
 * Activity options the ML workflows share, so a training step is proxied alike everywhere.
 * Training heartbeats every epoch and every 50 batches: a lost worker is noticed in minutes.
 */
import type { ActivityOptions } from '@temporalio/workflow';

export const trainingActivityOptions: ActivityOptions = {
  startToCloseTimeout: '60 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 3, initialInterval: '5 seconds', backoffCoefficient: 2 },
};

/** Scoring, picking, evaluating: minutes at most, heartbeating. */
export const mlStepActivityOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 3, initialInterval: '2 seconds', backoffCoefficient: 2 },
};
