/**
 * keepBeating (src/activities/support.ts) on the real dev server: an activity that heartbeats a
 * checkpoint once with `beat` and then works quietly for several heartbeat timeouts is kept alive
 * by keepBeating's periodic beats, and those beats repeat the checkpoint instead of replacing it
 * with nothing: an operator (or `scanflow loadgen` progress, or the next attempt) always sees it.
 * The activity is wrapped twice, as the worker's role table does, and still beats once per period.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { heartbeating } from '../../src/activities/agents/registry.js';
import { beat } from '../../src/activities/support.js';
import { connectTemporal, uniqueTaskQueue, type TemporalTestContext } from '../harness/env.js';

jest.setTimeout(120_000);

describe('keepBeating keeps an activity alive and repeats its own checkpoint', () => {
  let t: TemporalTestContext;
  beforeAll(async () => {
    t = await connectTemporal();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the pending activity shows the checkpoint for its whole quiet work, which outlives the heartbeat timeout', async () => {
    const taskQueue = uniqueTaskQueue('keep-beating');
    const activities = heartbeating(
      heartbeating({
        async checkpointThenWork(input: { checkpoint: string; workMs: number }): Promise<unknown> {
          beat({ checkpoint: input.checkpoint });
          await sleep(input.workMs);
          return 'done';
        },
      }),
    );
    const worker = await Worker.create({
      connection: t.workerConnection,
      namespace: t.namespace,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: fileURLToPath(new URL('./workflows/checkpoint.ts', import.meta.url)),
        logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
      }),
      activities,
    });
    await worker.runUntil(async () => {
      const handle = await t.client.workflow.start('checkpointWorkflow', {
        taskQueue,
        workflowId: `${taskQueue}-wf`,
        // Three heartbeat timeouts (3 s) of quiet work: without keepBeating it would time out.
        args: [{ checkpoint: 'step-7', workMs: 9_000 }],
      });
      const seen: unknown[] = [];
      const until = Date.now() + 7_500;
      while (Date.now() < until) {
        const pending = (await handle.describe()).raw.pendingActivities?.[0];
        const payload = pending?.heartbeatDetails?.payloads?.[0];
        if (pending?.lastHeartbeatTime)
          seen.push(payload ? defaultPayloadConverter.fromPayload(payload as Payload) : null);
        await sleep(700);
      }
      expect(await handle.result()).toBe('done');
      // Once the checkpoint reached the server, no later beat replaced it (the activity's own first
      // heartbeat may reach the server a moment after the activity started).
      const first = seen.findIndex((d) => d !== null);
      expect(first).toBeGreaterThanOrEqual(0);
      expect(seen.length - first).toBeGreaterThan(5);
      for (const details of seen.slice(first)) expect(details).toEqual({ checkpoint: 'step-7' });
    });
  });
});
