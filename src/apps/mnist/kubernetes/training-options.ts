/**
 * Where the Kubernetes demo retrains, from the environment (the demo's flags are the local
 * demo's; these only mean something on Kubernetes):
 *   SCANFLOW_TRAIN_IN_JOB      1 (default): each retrain is a Job with the limits below, beside the
 *                              model-server pods; 0: in the demo's ML worker on the host, as before
 *   SCANFLOW_TRAINING_JOB_CPU     the Job's CPU limit (default 500m: half a node's CPU); `none` for no limit
 *   SCANFLOW_TRAINING_JOB_MEMORY  its memory request and limit (default 1536Mi)
 */
import { trainingJobResources } from '../../../activities/platform/training-job.js';
import { envSwitch } from '../../../ml/env-switch.js';
import type { ResourceSpec } from '../../../platform/types.js';

export interface DemoTrainingJobs {
  enabled: boolean;
  resources: ResourceSpec;
}

const CPU = /^(none|\d+m|\d+(\.\d+)?)$/;
const MEMORY = /^\d+(Ki|Mi|Gi)?$/;

export function demoTrainingJobs(env: NodeJS.ProcessEnv = process.env): DemoTrainingJobs {
  const enabled = envSwitch('SCANFLOW_TRAIN_IN_JOB', env);
  const cpu = env.SCANFLOW_TRAINING_JOB_CPU || '500m';
  if (!CPU.test(cpu))
    throw new Error(
      `SCANFLOW_TRAINING_JOB_CPU must be a CPU quantity like 500m or 1, or none, got ${JSON.stringify(cpu)}`,
    );
  const memory = env.SCANFLOW_TRAINING_JOB_MEMORY || '1536Mi';
  if (!MEMORY.test(memory))
    throw new Error(
      `SCANFLOW_TRAINING_JOB_MEMORY must be a memory quantity like 1536Mi or 2Gi, got ${JSON.stringify(memory)}`,
    );
  return { enabled, resources: trainingJobResources({ cpu, memory }) };
}
