/**
 * The bootstrap workflow changed its command order (V1 and the detector concurrently, b1e0726).
 * A history left in flight by a worker of the version before must still replay on today's code:
 * the change is behind `patched('bootstrap-concurrent-v1-and-detector')`. Real Temporal server;
 * the activities here only return what a real run would (the history records results, and
 * replay never runs an activity), so the test needs no training.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import type { MnistBootstrapInput } from '../../../src/apps/mnist/workflows/bootstrap.js';
import { connectTemporal, uniqueTaskQueue, type TemporalTestContext } from '../../harness/env.js';

jest.setTimeout(120_000);

const INPUT: MnistBootstrapInput = {
  seed: 7,
  classifierEpochs: 2,
  detectorEpochs: 1,
  heldOut: { count: 2000, share: 0.8, corruptions: ['fog'] },
};

/** What the ML and knowledge workers answer on a fresh home: nothing in production, so both train. */
const activities = {
  mnistEnsureHeldOut: async () => ({ key: 'eval/held-out.sfimg', count: 2000 }),
  getProductionModel: async () => null,
  trainClassifier: async () => ({ model: 'mnist-classifier', version: 1, metrics: { accuracy: 0.99 } }),
  evaluateClassifier: async () => ({ version: 1, data: 'eval/held-out.sfimg', count: 2000, accuracy: 0.92 }),
  trainDetector: async () => ({ model: 'mnist-detector', version: 1 }),
  promoteModel: async () => ({ stage: 'production' }),
};

type History = Awaited<ReturnType<ReturnType<TemporalTestContext['client']['workflow']['getHandle']>['fetchHistory']>>;
const activityTypes = (history: History): (string | null | undefined)[] =>
  (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);

const workflowsOf = (path: string) => fileURLToPath(new URL(path, import.meta.url));

describe('the MNIST bootstrap workflow across versions', () => {
  let t: TemporalTestContext;

  beforeAll(async () => {
    t = await connectTemporal();
  });

  afterAll(async () => {
    await t?.close();
  });

  /** Runs the workflow of `workflowsPath` to completion and returns its history. */
  async function historyOf(workflowsPath: string, id: string) {
    const taskQueue = uniqueTaskQueue('bootstrap-versions');
    const worker = await Worker.create({
      connection: t.workerConnection,
      namespace: t.namespace,
      taskQueue,
      workflowsPath,
      activities,
    });
    const workflowId = `${id}-${taskQueue}`;
    await worker.runUntil(
      t.client.workflow.execute('mnistBootstrapWorkflow', { taskQueue, workflowId, args: [INPUT] }),
    );
    return t.client.workflow.getHandle(workflowId).fetchHistory();
  }

  it('replays a history of the sequential version and one of its own on the current code', async () => {
    const current = { workflowsPath: workflowsOf('../../../workers/workflows.ts') };
    const before = await historyOf(workflowsOf('./fixtures/bootstrap-sequential.ts'), 'bootstrap-sequential');
    // The old order: V1's three steps strictly before the detector's.
    expect(activityTypes(before)).toEqual([
      'mnistEnsureHeldOut',
      'getProductionModel',
      'trainClassifier',
      'evaluateClassifier',
      'promoteModel',
      'getProductionModel',
      'trainDetector',
      'promoteModel',
    ]);
    await Worker.runReplayHistory(current, before, 'bootstrap-sequential');

    // Today's order: the detector's training starts beside V1's, not after V1 was evaluated.
    const now = await historyOf(current.workflowsPath, 'bootstrap-concurrent');
    const nowScheduled = activityTypes(now);
    expect(nowScheduled.indexOf('trainDetector')).toBeLessThan(nowScheduled.indexOf('evaluateClassifier'));
    expect((now.events ?? []).some((e) => e.markerRecordedEventAttributes)).toBe(true);
    await Worker.runReplayHistory(current, now, 'bootstrap-concurrent');
  });
});
