/**
 * The Kubernetes demo's ML worker when retraining runs as Jobs: the ML task queue's activities of
 * workers/roles.ts in this process, except `retrainClassifier`, which becomes the platform's
 * training Job (src/activities/platform/training-job.ts) under the same name, so the training
 * workflow the planner starts is unchanged and its retrain runs in a pod with the Job's CPU and
 * memory limits beside the model-server pods. Bootstrap training (V1, before anything is served)
 * stays in this process: nothing competes with it yet, and it is cached between runs.
 * A worker of its own (not workers/run.ts) because that one takes a role's activities as they are;
 * the activities are the running workers' own (`resources.activitiesFor('ml')`), so nothing of the
 * ML role's composition is repeated here.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { TaskQueues } from '../../../agents/conventions.js';
import type { TrainingJobActivities } from '../../../activities/platform/training-job.js';
import { trainingJobsAsMlActivities } from '../../../activities/platform/training-job.js';
import type { ScanflowConfig } from '../../../config.js';
import { connectWorker, dataConverter } from '../../../temporal/connect.js';
import type { WorkerResources } from '../../../../workers/roles.js';

/** The workflow bundle's entry module, as workers/run.ts finds it (.ts in a checkout, .js when built). */
const workflowsPath = ['ts', 'js']
  .map((ext) => fileURLToPath(new URL(`../../../../workers/workflows.${ext}`, import.meta.url)))
  .find((p) => existsSync(p))!;

export interface MlWorkerWithJobs {
  shutdown(): Promise<void>;
}

export async function startMlWorkerWithTrainingJobs(o: {
  config: ScanflowConfig;
  /** The running workers' resources (RunningWorkers.resources): the ML role's activities come from there. */
  resources: Pick<WorkerResources, 'activitiesFor'>;
  jobs: TrainingJobActivities;
}): Promise<MlWorkerWithJobs> {
  const connection = await connectWorker(o.config.temporal);
  const worker = await Worker.create({
    connection,
    namespace: o.config.temporal.namespace,
    taskQueue: TaskQueues.ml,
    workflowsPath,
    dataConverter: dataConverter(o.config.temporal),
    activities: {
      ...o.resources.activitiesFor('ml'),
      retrainClassifier: trainingJobsAsMlActivities(o.jobs).retrainClassifier,
    },
    // As workers/run.ts: a few ML activities at a time (a retrain Job counts as one while it waits).
    maxConcurrentActivityTaskExecutions: 4,
  });
  const running = worker.run();
  return {
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
