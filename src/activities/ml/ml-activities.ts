/**
 * The ML activities of one worker, composed from one small factory per job: training
 * (train / retrain), evaluation, detection (train the detector, detect), picking + labelling,
 * and traffic batches. They share the registries and the model caches (models.ts). Inputs and
 * outputs are small JSON (types.ts, the contract workflows import); images, models and scores
 * stay in the knowledge store and travel as keys (Temporal payloads ≤ 2 MB). Long work heartbeats
 * (every epoch and every 50 batches): give these activities a heartbeatTimeout.
 */
import { createDetectionActivities } from './detection.js';
import { createEvaluationActivities } from './evaluation.js';
import { createMlModels, type MlActivityDeps } from './models.js';
import { createPickingActivities } from './picking.js';
import { createTrafficBatchActivities } from './traffic-batches.js';
import { createTrainingActivities } from './training.js';
import type { MlActivities } from './types.js';

export type { MlActivityDeps } from './models.js';

export function createMlActivities(deps: MlActivityDeps): MlActivities {
  const models = createMlModels(deps);
  return {
    ...createTrainingActivities(models),
    ...createEvaluationActivities(models),
    ...createDetectionActivities(models),
    ...createPickingActivities(models),
    ...createTrafficBatchActivities(models),
  };
}

export type * from './types.js';
