import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Worker } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKnowledgeActivities } from '../../src/activities/knowledge/knowledge-activities.js';
import { createMlActivities } from '../../src/activities/ml/ml-activities.js';
import { getImageSet } from '../../src/knowledge/image-set.js';
import { LocalDirectoryStore } from '../../src/knowledge/local-store.js';
import { ModelRegistry } from '../../src/knowledge/model-registry.js';
import type { DetectorWorkflowResult } from '../../src/workflows/detector.js';
import type { TrainingWorkflowResult } from '../../src/workflows/training.js';
import { connectTemporal, uniqueTaskQueue, type TemporalTestContext } from '../harness/env.js';

describe('training and detector workflows on a real Temporal server', () => {
  let t: TemporalTestContext;
  let dir: string;
  let store: LocalDirectoryStore;
  let ml: ReturnType<typeof createMlActivities>;
  let knowledge: ReturnType<typeof createKnowledgeActivities>;
  let worker: Worker;
  let taskQueue: string;
  let running: Promise<void>;

  beforeAll(async () => {
    t = await connectTemporal();
    dir = mkdtempSync(join(tmpdir(), 'scanflow-ml-wf-'));
    store = new LocalDirectoryStore(dir);
    ml = createMlActivities({ store });
    knowledge = createKnowledgeActivities({ store });
    taskQueue = uniqueTaskQueue('ml');
    worker = await Worker.create({
      connection: t.workerConnection,
      namespace: t.namespace,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('../../workers/workflows.ts', import.meta.url)),
      activities: { ...ml, ...knowledge },
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = <T>(workflow: string, id: string, arg: unknown): Promise<T> =>
    t.client.workflow.execute(workflow, { taskQueue, workflowId: `${id}-${taskQueue}`, args: [arg] }) as Promise<T>;

  it('trains a candidate, detects drift in traffic, picks and labels within budget, retrains from the labels', async () => {
    // V1 from scratch (reduced), compared with nothing: nothing is in production yet.
    const v1 = await run<TrainingWorkflowResult>('trainingWorkflow', 'train-v1', {
      // Batch 32 for this reduced run (the default 128 is for the full 60,000: 24 steps are too few).
      train: { trainData: 'mnist:train:3000', evalData: 'mnist:test:500', epochs: 1, seed: 1, batchSize: 32 },
      evaluations: [{ data: 'mnist-c:stripe:test:300', recordAs: 'accuracy.stripe' }],
    });
    expect(v1.version).toBe(1);
    expect(v1.production).toBeUndefined();
    expect(v1.metrics.accuracy).toBeGreaterThan(0.85);
    const registry = new ModelRegistry(store, 'mnist-classifier');
    expect((await registry.get(1)).stage).toBe('candidate');
    await knowledge.promoteModel({ model: 'mnist-classifier', version: 1 });

    // The detector (called directly: it is an activity, not a workflow step here) and traffic.
    const detector = await ml.trainDetector({ trainData: 'mnist:train:3000', epochs: 1, seed: 2, mode: 'features' });
    await knowledge.promoteModel({ model: 'mnist-detector', version: detector.version });
    const traffic = await ml.generateTrafficBatch({
      seed: 4,
      batchIndex: 0,
      batchSize: 200,
      schedule: [{ fromBatch: 0, share: 0.5, corruptions: ['stripe'] }],
    });
    expect(traffic.kinds).toEqual({ clean: 100, stripe: 100 });
    await knowledge.setLabelBudget({ budget: 60 });

    const checked = await run<DetectorWorkflowResult>('detectorWorkflow', 'detect', {
      data: traffic.datasetKey,
      pick: { budget: 50, method: 'top-score-diverse', seed: 5 },
      label: { batchKeys: [traffic.datasetKey] },
    });
    expect(checked.detection.isDrift).toBe(true);
    expect(checked.detection.flaggedCount).toBeGreaterThanOrEqual(50);
    expect(checked.picked?.count).toBe(50);
    expect(checked.labelled).toMatchObject({ count: 50, budgetLeft: 10 });
    const labelled = await getImageSet(store, checked.labelled?.labelledKey ?? '');
    expect(labelled.labels?.length).toBe(50);

    // A second check over budget fails clearly, without spending anything.
    await expect(
      run('detectorWorkflow', 'detect-over', {
        data: traffic.datasetKey,
        pick: { budget: 40, method: 'kde', seed: 6 },
        label: { batchKeys: [traffic.datasetKey] },
      }),
    ).rejects.toThrow(/Workflow execution failed/);
    expect(await knowledge.getLabelBudget()).toEqual({ budget: 60, used: 50 });

    // V2 = V1 fine-tuned on the labelled samples; compared with V1 on the same drifted data.
    const v2 = await run<TrainingWorkflowResult>('trainingWorkflow', 'retrain-v2', {
      retrain: { labelledData: [checked.labelled?.labelledKey], replayData: 'mnist:train:3000', epochs: 3, seed: 7 },
      evaluations: [{ data: 'mnist-c:stripe:test:300', recordAs: 'accuracy.stripe' }],
    });
    expect(v2).toMatchObject({ version: 2, parentVersion: 1, production: { version: 1 } });
    expect(v2.metrics['accuracy.stripe']).toBeGreaterThan(v2.production?.metrics['accuracy.stripe'] ?? 1);
    expect((await registry.get(2)).lineage.parentVersion).toBe(1);
    expect((await registry.production())?.version).toBe(1);
  });

  it('rejects bad input without retrying: both or neither of train/retrain, a missing version', async () => {
    await expect(run('trainingWorkflow', 'bad', { evaluations: [] })).rejects.toThrow(/Workflow execution failed/);
    await expect(ml.evaluateClassifier({ version: 42, data: 'mnist:test:10' })).rejects.toMatchObject({
      nonRetryable: true,
      type: 'NotFound',
      message: expect.stringMatching(/model mnist-classifier has no version 42/),
    });
    await expect(ml.detectDrift({ data: 'datasets/missing.sfimg' })).rejects.toMatchObject({
      nonRetryable: true,
      type: 'NotFound',
      message: expect.stringMatching(/no object datasets\/missing\.sfimg/),
    });
    await expect(ml.evaluateClassifier({ version: 1, data: 'mnist-c:snow:test' })).rejects.toMatchObject({
      nonRetryable: true,
      type: 'InvalidInput',
      message: expect.stringMatching(/unknown corruption "snow"/),
    });
    await expect(
      ml.pickSamples({
        data: 'mnist:test:10',
        detectionKey: 'detections/none.json',
        budget: 1,
        method: 'kde',
        seed: 1,
      }),
    ).rejects.toMatchObject({ type: 'NotFound' });

    // Through Temporal: a bad dataset reference fails the detect step once, without retries.
    const workflowId = `detect-bad-${taskQueue}`;
    await expect(
      t.client.workflow.execute('detectorWorkflow', {
        taskQueue,
        workflowId,
        args: [{ data: 'mnist-c:snow:test', pick: { budget: 1, method: 'kde', seed: 1 } }],
      }),
    ).rejects.toThrow(/Workflow execution failed/);
    const history = await t.client.workflow.getHandle(workflowId).fetchHistory();
    const failures = history.events?.filter((e) => e.activityTaskFailedEventAttributes) ?? [];
    expect(failures).toHaveLength(1);
    expect(failures[0]?.activityTaskFailedEventAttributes?.failure?.message).toMatch(
      /detectDrift: dataset mnist-c:snow:test: unknown corruption "snow"/,
    );
  });
});
