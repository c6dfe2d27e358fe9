import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Worker } from '@temporalio/worker';
import { Client as MinioClient } from 'minio';
import { fileURLToPath } from 'node:url';
import { createDiagnosticsActivities } from '../../src/activities/diagnostics.js';
import { connectTemporal, s3Config, uniqueTaskQueue, type TemporalTestContext } from '../harness/env.js';

describe('the stack end to end', () => {
  let t: TemporalTestContext;
  beforeAll(async () => {
    t = await connectTemporal();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('runs a workflow whose activity computes on native TensorFlow and stores the result in S3', async () => {
    const taskQueue = uniqueTaskQueue('smoke');
    const worker = await Worker.create({
      connection: t.workerConnection,
      namespace: t.namespace,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url)),
      activities: createDiagnosticsActivities(s3Config()),
    });
    const key = `smoke/${taskQueue}.json`;
    const report = await worker.runUntil(
      t.client.workflow.execute('diagnosticsWorkflow', { taskQueue, workflowId: `smoke-${taskQueue}`, args: [{ bucket: 'scanflow-smoke', key, size: 64 }] }),
    );
    expect(report).toMatchObject({ backend: 'tensorflow', size: 64, checksum: 64 ** 3 });
    expect(report.tensorflowVersion).toMatch(/^2\.\d+\.\d+/);

    const minio = new MinioClient(s3Config());
    const stream = await minio.getObject('scanflow-smoke', key);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(JSON.parse(Buffer.concat(chunks).toString('utf8'))).toEqual(report);
  });

  it('rejects a bad size without retrying', async () => {
    const taskQueue = uniqueTaskQueue('smoke-bad');
    const worker = await Worker.create({
      connection: t.workerConnection,
      namespace: t.namespace,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url)),
      activities: createDiagnosticsActivities(s3Config()),
    });
    const run = t.client.workflow.execute('diagnosticsWorkflow', { taskQueue, workflowId: `smoke-bad-${taskQueue}`, args: [{ bucket: 'scanflow-smoke', key: 'x', size: -1 }] });
    await expect(worker.runUntil(run)).rejects.toThrow(/Workflow execution failed/);
    const history = await t.client.workflow.getHandle(`smoke-bad-${taskQueue}`).fetchHistory();
    const failedAttempts = history.events?.filter((e) => e.activityTaskFailedEventAttributes) ?? [];
    expect(failedAttempts).toHaveLength(1);
    expect(failedAttempts[0]?.activityTaskFailedEventAttributes?.failure?.message).toMatch(/size must be an integer in 1\.\.4096, got -1/);
  });
});
