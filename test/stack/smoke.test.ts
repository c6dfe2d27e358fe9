import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createDiagnosticsActivities } from '../../src/activities/diagnostics.js';
import { openKnowledgeStore } from '../../src/knowledge/open-store.js';
import type { KnowledgeStore } from '../../src/knowledge/types.js';
import { connectTemporal, s3Config, uniqueTaskQueue, type TemporalTestContext } from '../harness/env.js';

describe('the stack end to end', () => {
  let t: TemporalTestContext;
  let store: KnowledgeStore;
  beforeAll(async () => {
    t = await connectTemporal();
    store = openKnowledgeStore({ kind: 's3', ...s3Config(), bucket: 'scanflow-smoke' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const diagnosticsWorker = (taskQueue: string) =>
    Worker.create({
      connection: t.workerConnection,
      namespace: t.namespace,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('../../workers/workflows.ts', import.meta.url)),
      activities: createDiagnosticsActivities(store),
    });

  it('runs a workflow whose activity computes on native TensorFlow and stores the result in S3', async () => {
    const taskQueue = uniqueTaskQueue('smoke');
    const worker = await diagnosticsWorker(taskQueue);
    const key = `smoke/${taskQueue}.json`;
    const report = await worker.runUntil(
      t.client.workflow.execute('diagnosticsWorkflow', {
        taskQueue,
        workflowId: `smoke-${taskQueue}`,
        args: [{ key, size: 64 }],
      }),
    );
    expect(report).toMatchObject({ backend: 'tensorflow', size: 64, checksum: 64 ** 3 });
    expect(report.tensorflowVersion).toMatch(/^2\.\d+\.\d+/);

    // Read back through a second, independent client of the same S3 server.
    const reader = openKnowledgeStore({ kind: 's3', ...s3Config(), bucket: 'scanflow-smoke' });
    expect(await reader.getJson(key)).toEqual(report);
  });

  it('rejects a bad size without retrying', async () => {
    const taskQueue = uniqueTaskQueue('smoke-bad');
    const worker = await diagnosticsWorker(taskQueue);
    const run = t.client.workflow.execute('diagnosticsWorkflow', {
      taskQueue,
      workflowId: `smoke-bad-${taskQueue}`,
      args: [{ key: 'x', size: -1 }],
    });
    await expect(worker.runUntil(run)).rejects.toThrow(/Workflow execution failed/);
    const history = await t.client.workflow.getHandle(`smoke-bad-${taskQueue}`).fetchHistory();
    const failedAttempts = history.events?.filter((e) => e.activityTaskFailedEventAttributes) ?? [];
    expect(failedAttempts).toHaveLength(1);
    expect(failedAttempts[0]?.activityTaskFailedEventAttributes?.failure?.message).toMatch(
      /size must be an integer in 1\.\.4096, got -1/,
    );
  });
});
