import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createKubernetesActivities } from '../../src/activities/platform/index.js';
import type { BatchWorkflowSpec, OnlineWorkflowSpec } from '../../src/platform/types.js';
import { connectTemporal, uniqueTaskQueue, type TemporalTestContext } from '../harness/env.js';
import { freshNamespace, testCluster } from './cluster.js';

const c = testCluster();
const workflowsPath = fileURLToPath(new URL('./workflows/platform-probe.ts', import.meta.url));

describe('platform primitives as Temporal activities (real worker, real control plane)', () => {
  let t: TemporalTestContext;
  let ns: string;
  beforeAll(async () => {
    t = await connectTemporal();
    ns = await freshNamespace(c, 'activities');
  });
  afterAll(async () => {
    await t?.close();
  });

  const online: OnlineWorkflowSpec = {
    app: 'mnist',
    workflow: 'serving',
    services: [{ name: 'model', image: 'scanflow/model-server:1', port: 8080, replicas: 2 }],
  };
  const batch: BatchWorkflowSpec = {
    app: 'mnist',
    workflow: 'retrain',
    executors: [
      { name: 'pick', image: 'p:1' },
      { name: 'train', image: 't:1', dependsOn: ['pick'] },
      { name: 'evaluate', image: 'e:1', dependsOn: ['train'] },
    ],
  };

  /** A worker of its own task queue with the Kubernetes activities and the workflows of platform-probe.ts. */
  const kubernetesWorker = async (prefix: string): Promise<{ taskQueue: string; worker: Worker }> => {
    const taskQueue = uniqueTaskQueue(prefix);
    const worker = await Worker.create({
      connection: t.workerConnection,
      namespace: t.namespace,
      taskQueue,
      workflowsPath,
      activities: createKubernetesActivities({ kubeconfigPath: c.kubeconfigPath, namespace: ns }),
    });
    return { taskQueue, worker };
  };

  test('an agent-like workflow deploys, senses readiness and runs a DAG through activities', async () => {
    const { taskQueue, worker } = await kubernetesWorker('k8s-activities');
    const result = await worker.runUntil(
      t.client.workflow.execute('platformProbeWorkflow', {
        taskQueue,
        workflowId: `probe-${taskQueue}`,
        args: [{ online, batch, runId: 'r1' }],
      }),
    );
    expect(result.ready).toBe(2);
    expect(result.run.phase).toBe('Succeeded');
    expect(result.run.steps.map((s: { executor: string; phase: string }) => [s.executor, s.phase])).toEqual([
      ['pick', 'Succeeded'],
      ['train', 'Succeeded'],
      ['evaluate', 'Succeeded'],
    ]);
    expect(result.placement).toHaveLength(2);
    // The long-running primitive is proxied with a heartbeat timeout, so a lost worker is noticed.
    const history = await t.client.workflow.getHandle(`probe-${taskQueue}`).fetchHistory();
    const scheduled =
      history.events?.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runWorkflow') ?? [];
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0]?.activityTaskScheduledEventAttributes?.heartbeatTimeout?.seconds?.toString()).toBe('20');
  });

  test('an invalid object fails the activity once, non-retryable, with the API server message', async () => {
    const { taskQueue, worker } = await kubernetesWorker('k8s-invalid');
    const id = `invalid-${taskQueue}`;
    const outcome = await worker.runUntil(
      t.client.workflow.execute('platformInvalidWorkflow', { taskQueue, workflowId: id, args: [{ online }] }),
    );
    expect(outcome).toMatchObject({ type: 'KubernetesInvalid', nonRetryable: true });
    expect(outcome.message).toMatch(
      /Deployment.* is invalid: .*must be less than or equal to cpu limit of 1 \(HTTP 422 Invalid\)/,
    );
    const history = await t.client.workflow.getHandle(id).fetchHistory();
    expect(history.events?.filter((e) => e.activityTaskFailedEventAttributes)).toHaveLength(1);
  });
});
