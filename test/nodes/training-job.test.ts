/**
 * Training as a Kubernetes Job (src/activities/platform/training-job.ts) on the real nodes, run by
 * the real training workflow (src/workflows/training.ts) on a real Temporal server, with its
 * training step served by the Job activities under the ML worker's names, as the Kubernetes demo
 * does. The knowledge base is a versitygw the pods reach on the node bridge, its keys in the
 * namespace's Secret `scanflow-s3`, as for the demo's model-server pods.
 * Asserted: the Job's pod runs under the limits written (CFS quota and memory limit read inside
 * it); the candidate it registers is in the registry with the activity's idempotency key and loads;
 * a retried activity (a fault injected: its first attempt's completion is dropped after the Job
 * finished, as when a worker dies at that moment) creates no second Job and no second version; a
 * Job whose memory limit is too small fails as TrainingJobOOMKilled; a cancelled activity deletes
 * its Job; no Job or pod is left behind.
 */
import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createMlActivities } from '../../src/activities/ml/ml-activities.js';
import type { TrainClassifierInput } from '../../src/activities/ml/types.js';
import {
  createTrainingJobActivities,
  trainingJobResources,
  trainingJobsAsMlActivities,
} from '../../src/activities/platform/training-job.js';
import { ModelRegistry } from '../../src/knowledge/model-registry.js';
import { openKnowledgeStore } from '../../src/knowledge/open-store.js';
import type { KnowledgeStore, KnowledgeStoreConfig } from '../../src/knowledge/types.js';
import { s3StoreConfig } from '../../src/knowledge/s3-endpoint.js';
import { startS3ForPods, type PodReachableS3 } from '../../src/platform/kubernetes/control-plane/host-services.js';
import { OneOffJobs } from '../../src/platform/kubernetes/one-off-job.js';
import type { ResourceSpec } from '../../src/platform/types.js';
import { S3_SECRET, storeForService } from '../../src/serving/store-config.js';
import { connectTemporal, requireEnv, uniqueTaskQueue, type TemporalTestContext } from '../harness/env.js';
import { loadAverage, readInPod, waitFor } from './support.js';
import { nodesSuite } from './suite.js';

jest.setTimeout(600_000);
const workflowsPath = fileURLToPath(new URL('../../workers/workflows.ts', import.meta.url));
const MODEL = 'mnist-classifier';

describe('classifier training as a Kubernetes Job with resource limits (real nodes)', () => {
  let s3: PodReachableS3 | undefined;
  let t: TemporalTestContext | undefined;
  let store: KnowledgeStore;
  let storeConfig: KnowledgeStoreConfig;
  const suite = nodesSuite('trainjob', {
    realNodes: true,
    cleanup: async () => {
      await t?.close();
      await s3?.process.stop();
    },
  });

  beforeAll(async () => {
    const dir = join(requireEnv('SCANFLOW_TEST_DIR'), `training-job-${Date.now().toString(36)}`);
    mkdirSync(dir, { recursive: true });
    s3 = await startS3ForPods({
      dataDir: join(dir, 's3'),
      logDir: dir,
      accessKey: 'scanflow',
      secretKey: randomBytes(16).toString('hex'),
    });
    storeConfig = s3StoreConfig(s3.endpoint, s3, 'scanflow');
    store = openKnowledgeStore(storeConfig);
    await suite.c.core.createNamespacedSecret({
      namespace: suite.ns,
      body: {
        metadata: { name: S3_SECRET },
        stringData: { endpoint: s3.endpoint, 'access-key': s3.accessKey, 'secret-key': s3.secretKey },
      },
    });
    t = await connectTemporal();
  }, 120_000);

  const jobActivities = (resources: ResourceSpec) =>
    createTrainingJobActivities({
      jobs: OneOffJobs.connect({ kubeconfigPath: suite.c.kubeconfig, namespace: suite.ns }),
      store,
      podStore: storeForService(storeConfig),
      defaults: { image: suite.c.info.image.ref, resources },
      pollMs: 500,
    });

  /** Runs the training workflow on a worker of its own whose training step is a Job. */
  async function train(
    activities: { trainClassifier(input: TrainClassifierInput): Promise<unknown> },
    input: TrainClassifierInput,
    during?: (workflowId: string) => Promise<void>,
  ): Promise<{ workflowId: string; outcome: unknown }> {
    const taskQueue = uniqueTaskQueue('trainjob');
    const worker = await Worker.create({
      connection: t!.workerConnection,
      namespace: t!.namespace,
      taskQueue,
      workflowsPath,
      // Evaluation runs in this worker, as in the ML worker; only the training step is a Job.
      activities: { ...createMlActivities({ store }), ...activities },
    });
    const workflowId = `trainjob-${taskQueue}`;
    const outcome = await worker.runUntil(async () => {
      const handle = await t!.client.workflow.start('trainingWorkflow', {
        taskQueue,
        workflowId,
        args: [{ train: input, evaluations: [] }],
      });
      await during?.(workflowId);
      return handle.result().catch((err: unknown) => err);
    });
    return { workflowId, outcome };
  }

  /** Names of the namespace's Jobs and pods (the Secret and ServiceAccount are the suite's). */
  async function leftOver(): Promise<string[]> {
    const { c, ns } = suite;
    const jobs = OneOffJobs.connect({ kubeconfigPath: c.kubeconfig, namespace: ns });
    const list = await jobs.objects.clients.batch.listNamespacedJob({ namespace: ns });
    const pods = await c.core.listNamespacedPod({ namespace: ns });
    return [...list.items.map((j) => `job/${j.metadata?.name}`), ...pods.items.map((p) => `pod/${p.metadata?.name}`)];
  }

  /** Job uids seen in the namespace while `work` runs (polled: a training Job lives for many seconds). */
  async function watchJobs<T>(work: () => Promise<T>): Promise<{ value: T; uids: Set<string> }> {
    const { c, ns } = suite;
    const batch = OneOffJobs.connect({ kubeconfigPath: c.kubeconfig, namespace: ns }).objects.clients.batch;
    const uids = new Set<string>();
    let on = true;
    const polling = (async () => {
      while (on) {
        const list = await batch.listNamespacedJob({ namespace: ns }).catch(() => undefined);
        for (const j of list?.items ?? []) if (j.metadata?.uid) uids.add(j.metadata.uid);
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    try {
      return { value: await work(), uids };
    } finally {
      on = false;
      await polling;
    }
  }

  async function runningJobPod(): Promise<string> {
    const { c, ns } = suite;
    return waitFor('a running training Job pod', 300_000, async () => {
      const pods = await c.core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name' });
      return pods.items.find((p) => p.status?.phase === 'Running')?.metadata?.name;
    });
  }

  it('runs under its limits, registers one loadable candidate, and a retried activity makes no second Job or version', async () => {
    const jobs = jobActivities(trainingJobResources({ cpu: '500m', memory: '1536Mi' }));
    const asMl = trainingJobsAsMlActivities(jobs);
    let injected = 0;
    let cgroup: string[] | undefined;
    const started = Date.now();
    const { value: run, uids } = await watchJobs(() =>
      train(
        {
          async trainClassifier(input) {
            const result = await asMl.trainClassifier(input);
            // Injected fault: the first attempt's completion is lost after its Job finished (its
            // worker died then); Temporal retries the activity with the same activity id.
            if (Context.current().info.attempt === 1) {
              injected += 1;
              throw ApplicationFailure.retryable('injected: first attempt lost after the Job finished', 'Injected');
            }
            return result;
          },
        },
        { trainData: 'mnist:train:12000', evalData: 'mnist:test:1000', epochs: 1, seed: 3, batchSize: 32 },
        async () => {
          const pod = await runningJobPod();
          // Read inside the training container while it trains (kubectl exec), retried while it starts.
          cgroup = await waitFor(
            'the cgroup files inside the Job pod',
            120_000,
            () =>
              readInPod(suite.c, suite.ns, pod, [
                '/sys/fs/cgroup/cpu/cpu.cfs_quota_us',
                '/sys/fs/cgroup/cpu/cpu.cfs_period_us',
                '/sys/fs/cgroup/cpu/cpu.shares',
                '/sys/fs/cgroup/memory/memory.limit_in_bytes',
              ]),
            1_000,
          );
        },
      ),
    );
    const result = run.outcome as { version: number; metrics: Record<string, number> };
    if (result instanceof Error) throw result;
    process.stderr.write(
      `[training-job] trained v${result.version} in a Job (500m CPU limit): accuracy ${result.metrics.accuracy}, ${((Date.now() - started) / 1000).toFixed(1)} s with the injected retry; cgroup ${JSON.stringify(cgroup)}; load avg ${loadAverage()}\n`,
    );
    const [quota, period, shares, memLimit] = cgroup!;
    expect(Number(quota) / Number(period)).toBeCloseTo(0.5, 5);
    // A request of 100m weighs 102 (cpu.shares = millicores × 1024 / 1000).
    expect(Number(shares)).toBe(102);
    expect(Number(memLimit)).toBe(1536 * 1024 * 1024);

    expect(injected).toBe(1);
    expect(uids.size).toBe(1);
    const registry = new ModelRegistry(store, MODEL);
    const versions = await registry.list();
    expect(versions.map((v) => v.version)).toEqual([result.version]);
    expect(versions[0]!.stage).toBe('candidate');
    expect(versions[0]!.idempotencyKey?.startsWith(`${run.workflowId}/`)).toBe(true);
    expect(await store.list('training-jobs/')).toHaveLength(1);
    expect(result.metrics.accuracy).toBeGreaterThan(0.8);
    // What a model server loads: the version's artifacts from the registry.
    const model = await registry.loadModel(result.version);
    expect(model.outputs[0]!.shape).toEqual([null, 10]);
    model.dispose();
    await waitFor('no Job or pod left', 120_000, async () => ((await leftOver()).length === 0 ? true : undefined));
  });

  it('a Job whose memory limit is too small fails as TrainingJobOOMKilled and leaves nothing behind', async () => {
    const before = (await new ModelRegistry(store, MODEL).list()).length;
    const jobs = jobActivities(trainingJobResources({ cpu: '500m', memory: '160Mi' }));
    const { value: run, uids } = await watchJobs(() =>
      train(trainingJobsAsMlActivities(jobs), { trainData: 'mnist:train', epochs: 1, seed: 4 }),
    );
    expect(run.outcome).toBeInstanceOf(WorkflowFailedError);
    const causes: Array<{ type?: string; message: string }> = [];
    for (let e = run.outcome as Error | undefined; e; e = e.cause as Error | undefined)
      causes.push({ type: (e as ApplicationFailure).type ?? undefined, message: e.message });
    process.stderr.write(`[training-job] too little memory: ${JSON.stringify(causes)}\n`);
    const failure = causes.find((x) => x.type === 'TrainingJobOOMKilled');
    expect(failure?.message).toMatch(/OOMKilled.*160Mi/);
    // Not retried: the same limit would be killed again.
    expect(uids.size).toBe(1);
    expect(await new ModelRegistry(store, MODEL).list()).toHaveLength(before);
    await waitFor('no Job or pod left', 120_000, async () => ((await leftOver()).length === 0 ? true : undefined));
  });

  it('a cancelled training activity deletes its Job', async () => {
    const before = (await new ModelRegistry(store, MODEL).list()).length;
    const jobs = jobActivities(trainingJobResources({ cpu: '500m', memory: '1536Mi' }));
    const { value: run, uids } = await watchJobs(() =>
      train(trainingJobsAsMlActivities(jobs), { trainData: 'mnist:train', epochs: 3, seed: 5 }, async (id) => {
        await runningJobPod();
        await t!.client.workflow.getHandle(id).cancel();
      }),
    );
    expect(run.outcome).toBeInstanceOf(WorkflowFailedError);
    expect(uids.size).toBe(1);
    await waitFor('the cancelled Job and its pod deleted', 120_000, async () =>
      (await leftOver()).length === 0 ? true : undefined,
    );
    expect(await new ModelRegistry(store, MODEL).list()).toHaveLength(before);
  });
});
