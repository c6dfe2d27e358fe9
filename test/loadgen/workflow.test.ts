/**
 * loadgenWorkflow on the real dev server: run as a child of a parent workflow with its progress
 * queried mid-run, cancelled (the load stops within a second), and with its activity worker killed
 * mid-segment (the segment runs again on a new worker and no query is counted twice). The SUT is a
 * fixed-delay OIP-v2 HTTP server in the test process, so its request count is observable.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLoadgenActivities } from '../../src/activities/loadgen/loadgen-activities.js';
import { ScanflowKind } from '../../src/agents/conventions.js';
import { loadgenProgress, startLoadgenWorkflow } from '../../src/cli/loadgen.js';
import { openKnowledgeStore } from '../../src/knowledge/open-store.js';
import { mergeDetailLogs, validateDetailLog } from '../../src/loadgen/detail-log.js';
import { startFixedDelayServer, type FixedDelayServer } from '../../src/loadgen/fixed-delay-server.js';
import { serverSchedule } from '../../src/loadgen/schedule.js';
import { resolveSettings, type TestSettingsInput } from '../../src/loadgen/settings.js';
import {
  loadgenWorkflowId,
  type LoadgenWorkflowInput,
  type LoadgenWorkflowResult,
} from '../../src/workflows/loadgen.js';
import { connectTemporal, requireEnv, uniqueTaskQueue, type TemporalTestContext } from '../harness/env.js';
import { eventually, sleep } from '../agents/helpers.js';

const fixtures = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
function workflows(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: fixtures('workflows.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  return bundle;
}

let n = 0;
const uniqueRun = (prefix: string) => `${prefix}-${process.pid.toString(36)}${Date.now().toString(36).slice(-5)}${++n}`;

jest.setTimeout(180_000);

describe('loadgenWorkflow', () => {
  let t: TemporalTestContext;
  let sutServer: FixedDelayServer;
  let storeDir: string;
  beforeAll(async () => {
    t = await connectTemporal();
    sutServer = await startFixedDelayServer({ delayMs: 2 });
    storeDir = mkdtempSync(join(requireEnv('SCANFLOW_TEST_DIR'), 'loadgen-store-'));
  });
  afterAll(async () => {
    await sutServer?.close();
    await t?.close();
  });

  const store = () => openKnowledgeStore({ kind: 'local', directory: storeDir });
  const input = (settings: TestSettingsInput, taskQueue: string, segmentSeconds: number): LoadgenWorkflowInput => ({
    settings,
    sut: { kind: 'http', url: sutServer.url, model: 'mnist-classifier' },
    qsl: { kind: 'synthetic', count: 64 },
    segmentSeconds,
    activityTaskQueue: taskQueue,
  });
  const worker = async (taskQueue: string, withActivities = true) =>
    await Worker.create({
      connection: t.workerConnection,
      namespace: t.namespace,
      taskQueue,
      workflowBundle: await workflows(),
      activities: withActivities ? { ...createLoadgenActivities({ store: store() }) } : undefined,
    });

  /** Every query of the planned schedule, each exactly once, in the union of the segment logs. */
  async function expectEachQueryOnce(result: LoadgenWorkflowResult, settings: TestSettingsInput) {
    const planned = serverSchedule(resolveSettings(settings)).length;
    expect(result.summary.queriesIssued).toBe(planned);
    const logs = await Promise.all(
      result.detailLogKeys.map(async (k) => validateDetailLog(await store().getJson(k), k)),
    );
    const merged = mergeDetailLogs(logs);
    expect(merged.query).toEqual([...Array(planned).keys()]);
    return planned;
  }

  it('runs as a child workflow, answers the progress query mid-run, and returns the summary and log keys', async () => {
    const taskQueue = uniqueTaskQueue('loadgen-child');
    const settings: TestSettingsInput = {
      scenario: 'Server',
      targetQps: 150,
      targetLatencyNs: 1e9,
      minDurationMs: 4000,
      scheduleRngSeed: 11,
    };
    const run = uniqueRun('child');
    const w = await worker(taskQueue);
    await w.runUntil(async () => {
      const parent = await t.client.workflow.start('loadgenParentWorkflow', {
        taskQueue,
        workflowId: `${run}-parent`,
        args: [run, input(settings, taskQueue, 1.5)],
      });
      const child = t.client.workflow.getHandle(loadgenWorkflowId(run));
      const mid = await eventually(
        async () => {
          const p = await loadgenProgress(child);
          return p.segmentsCompleted >= 1 && p.live && p.live.queriesIssued > p.queriesIssued ? p : undefined;
        },
        'progress of the second segment',
        30_000,
      );
      expect(mid.phase).toBe('running');
      expect(mid.live?.queriesCompleted).toBeGreaterThan(0);
      expect(mid.queriesIssued).toBeGreaterThan(100);
      const result = (await parent.result()) as LoadgenWorkflowResult;
      expect(result.summary.result).toBe('VALID');
      expect(result.text).toContain('Result is : VALID');
      expect(result.detailLogKeys.length).toBe(3);
      expect(await store().exists(result.textKey)).toBe(true);
      await expectEachQueryOnce(result, settings);
      const done = await loadgenProgress(child);
      expect(done).toMatchObject({ phase: 'done', result: 'VALID', segmentsCompleted: 3 });
      const description = await child.describe();
      expect(description.typedSearchAttributes.get(ScanflowKind)).toBe('loadgen');
      // the inference queries are not in the history: a few events per segment
      const history = await child.fetchHistory();
      expect(history.events?.length ?? 0).toBeLessThan(40);
    });
  });

  it('stops the load within a second of a cancellation', async () => {
    const taskQueue = uniqueTaskQueue('loadgen-cancel');
    const run = uniqueRun('cancel');
    const w = await worker(taskQueue);
    await w.runUntil(async () => {
      const handle = await startLoadgenWorkflow(
        t.client,
        input({ scenario: 'Server', targetQps: 200, minDurationMs: 60_000 }, taskQueue, 60),
        { run, taskQueue },
      );
      const before = sutServer.answered();
      await eventually(() => (sutServer.answered() - before > 200 ? true : undefined), 'load on the SUT', 30_000);
      await handle.cancel();
      const cancelledAt = Date.now();
      const error = await handle.result().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      await sleep(Math.max(0, cancelledAt + 1000 - Date.now()));
      const at1s = sutServer.answered();
      await sleep(1500);
      expect(sutServer.answered()).toBe(at1s);
    });
  });

  it('resumes from the last completed segment after its worker is killed, counting no query twice', async () => {
    const workflowQueue = uniqueTaskQueue('loadgen-crash-wf');
    const activityQueue = uniqueTaskQueue('loadgen-crash-act');
    const logFile = join(requireEnv('SCANFLOW_TEST_DIR'), `${activityQueue}.log`);
    writeFileSync(logFile, '');
    const ready = () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('worker-ready');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fixtures('activity-worker.ts'), t.address, t.namespace, activityQueue, storeDir, logFile],
      { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const settings: TestSettingsInput = {
      scenario: 'Server',
      targetQps: 100,
      targetLatencyNs: 1e9,
      minDurationMs: 6000,
      scheduleRngSeed: 5,
    };
    try {
      await eventually(() => (ready() ? true : undefined), 'the child activity worker', 60_000);
      const workflowWorker = await worker(workflowQueue, false);
      await workflowWorker.runUntil(async () => {
        const run = uniqueRun('crash');
        const handle = await startLoadgenWorkflow(t.client, input(settings, activityQueue, 2), {
          run,
          taskQueue: workflowQueue,
        });
        // kill it in the middle of the second segment
        const mid = await eventually(
          async () => {
            const p = await loadgenProgress(handle);
            return p.segmentsCompleted === 1 && p.live && p.live.queriesIssued > p.queriesIssued + 50 ? p : undefined;
          },
          'the second segment under way',
          30_000,
        );
        const answeredBefore = sutServer.answered();
        child.kill('SIGKILL');
        await exited;
        const replacement = await Worker.create({
          connection: t.workerConnection,
          namespace: t.namespace,
          taskQueue: activityQueue,
          activities: { ...createLoadgenActivities({ store: store() }) },
        });
        const result = await replacement.runUntil(handle.result());
        const planned = await expectEachQueryOnce(result, settings);
        // the killed attempt's queries reached the SUT but are not in the result
        expect(sutServer.answered() - answeredBefore + (mid.live?.queriesIssued ?? 0)).toBeGreaterThan(planned);
        expect(result.summary.samples).toBe(planned);
        const history = await handle.fetchHistory();
        const attempts = (history.events ?? [])
          .filter((e) => e.activityTaskStartedEventAttributes)
          .map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 1);
        expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
      });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
