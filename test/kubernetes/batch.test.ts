import { describe, expect, test, beforeAll } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import type { BatchRunStatus, BatchWorkflowSpec } from '../../src/platform/types.js';
import { adminPlatform, freshNamespace, testCluster, waitFor } from './cluster.js';

const c = testCluster();

/** a → (b, c) → d: b and c may run in parallel, d waits for both. */
function diamond(workflow = 'train'): BatchWorkflowSpec {
  return {
    app: 'mnist',
    workflow,
    executors: [
      { name: 'a', image: 'scanflow/prepare:1', args: ['--split'] },
      {
        name: 'b',
        image: 'scanflow/train:1',
        dependsOn: ['a'],
        resources: { requests: { cpu: '500m', memory: '64Mi' } },
      },
      { name: 'c', image: 'scanflow/detect:1', dependsOn: ['a'] },
      { name: 'd', image: 'scanflow/evaluate:1', dependsOn: ['b', 'c'], env: { MODEL_VERSION: '7' } },
    ],
  };
}

/** No snapshot may show a step started before all its dependencies succeeded. */
function assertDagOrder(spec: BatchWorkflowSpec, snapshots: BatchRunStatus[]): void {
  for (const snap of snapshots) {
    const phase = new Map(snap.steps.map((s) => [s.executor, s.phase]));
    for (const e of spec.executors) {
      if (['Running', 'Succeeded', 'Failed'].includes(phase.get(e.name)!)) {
        for (const d of e.dependsOn ?? []) expect([e.name, d, phase.get(d)]).toEqual([e.name, d, 'Succeeded']);
      }
    }
  }
}

describe('batch workflow primitives on a real control plane', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await freshNamespace(c, 'batch');
  });

  test('runWorkflow runs a DAG of Jobs in dependency order and reports success; a rerun re-attaches', async () => {
    const p = adminPlatform(c, ns);
    const spec = diamond();
    await p.applyBatchWorkflow(spec);
    const snapshots: BatchRunStatus[] = [];
    const result = await p.runWorkflow(spec, 'r1', {
      onProgress: (s) => snapshots.push(structuredClone(s)),
      pollMs: 200,
    });
    expect(result.phase).toBe('Succeeded');
    expect(result.steps.map((s) => [s.executor, s.phase])).toEqual([
      ['a', 'Succeeded'],
      ['b', 'Succeeded'],
      ['c', 'Succeeded'],
      ['d', 'Succeeded'],
    ]);
    assertDagOrder(spec, snapshots);
    // Creation times from the API server agree: each Job was created after its dependencies completed.
    const jobs = new Map(
      (await c.batch.listNamespacedJob({ namespace: ns, labelSelector: 'scanflow.io/run=r1' })).items.map((j) => [
        j.metadata!.labels!['scanflow.io/component']!,
        j,
      ]),
    );
    expect([...jobs.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
    const created = (n: string) => new Date(jobs.get(n)!.metadata!.creationTimestamp!).getTime();
    const completed = (n: string) => new Date(jobs.get(n)!.status!.completionTime!).getTime();
    for (const [step, dep] of [
      ['b', 'a'],
      ['c', 'a'],
      ['d', 'b'],
      ['d', 'c'],
    ] as const)
      expect(created(step)).toBeGreaterThanOrEqual(completed(dep));
    for (const j of jobs.values())
      expect(j.metadata?.labels).toMatchObject({
        app: 'mnist',
        workflow: 'train',
        'app.kubernetes.io/managed-by': 'scanflow',
      });
    // resources and env reach the pod spec
    const podsB = await c.core.listNamespacedPod({
      namespace: ns,
      labelSelector: 'scanflow.io/run=r1,scanflow.io/component=b',
    });
    expect(podsB.items[0]?.spec?.containers[0]?.resources?.requests).toEqual({ cpu: '500m', memory: '64Mi' });

    const again = await p.runWorkflow(spec, 'r1');
    expect(again).toEqual(result);
    expect(
      (await c.batch.listNamespacedJob({ namespace: ns, labelSelector: 'scanflow.io/run=r1' })).items,
    ).toHaveLength(4);
    expect(await p.jobStatus(spec, 'r1')).toEqual(result);
  });

  test('a failing step fails the workflow with the container reason; later steps are skipped', async () => {
    const p = adminPlatform(c, ns);
    const spec: BatchWorkflowSpec = {
      app: 'mnist',
      workflow: 'broken',
      executors: [
        { name: 'a', image: 'scanflow/prepare:1' },
        // KWOK runs no container: these annotations make its pod end like a crashed container.
        {
          name: 'b',
          image: 'scanflow/train:1',
          dependsOn: ['a'],
          annotations: {
            'scanflow.io/simulated-exit-code': '3',
            'scanflow.io/simulated-message': 'loss is NaN at epoch 2',
          },
        },
        { name: 'c', image: 'scanflow/evaluate:1', dependsOn: ['b'] },
      ],
    };
    await p.applyBatchWorkflow(spec);
    const result = await p.runWorkflow(spec, 'r1', { pollMs: 200 });
    expect(result.phase).toBe('Failed');
    expect(result.steps.map((s) => [s.executor, s.phase])).toEqual([
      ['a', 'Succeeded'],
      ['b', 'Failed'],
      ['c', 'Skipped'],
    ]);
    const b = result.steps[1]!;
    expect(b).toMatchObject({ reason: 'Error', exitCode: 3 });
    expect(b.message).toMatch(/^container exited with code 3: loss is NaN at epoch 2 \(Job BackoffLimitExceeded/);
    await expect(c.batch.readNamespacedJob({ name: 'broken-r1-c', namespace: ns })).rejects.toMatchObject({
      code: 404,
    });
  });

  test('updateWorkflowAffinity keeps batch pods off the nodes of the online service (scheduler bindings)', async () => {
    const p = adminPlatform(c, ns);
    // The online service: 2 replicas that refuse to share a node, so they take 2 of the 3 nodes.
    const online = { app: 'mlperf', workflow: 'server' };
    const modelPods = { app: 'mlperf', workflow: 'server', 'scanflow.io/component': 'model' };
    await p.deployWorkflow({
      ...online,
      services: [
        {
          name: 'model',
          image: 'scanflow/model-server:1',
          port: 8080,
          replicas: 2,
          affinity: { antiAffinity: [{ matchLabels: modelPods, mode: 'required' }] },
        },
      ],
    });
    const servingNodes = await waitFor('2 model pods bound to nodes', async () => {
      const pods = await p.podPlacement(online);
      return pods.length === 2 && pods.every((x) => x.node) ? new Set(pods.map((x) => x.node)) : undefined;
    });
    expect(servingNodes.size).toBe(2);

    const offline: BatchWorkflowSpec = {
      app: 'mlperf',
      workflow: 'offline',
      executors: ['x', 'y', 'z', 'w'].map((name) => ({ name, image: 'scanflow/loadgen:1' })),
    };
    await p.applyBatchWorkflow(offline);
    await p.updateBatchWorkflowAffinity(offline, { antiAffinity: [{ matchLabels: modelPods, mode: 'required' }] });
    const result = await p.runWorkflow(offline, 'r1', { pollMs: 200 });
    expect(result.phase).toBe('Succeeded');
    // Where the scheduler bound each batch pod, from its own "Scheduled" events.
    const events = await c.core.listNamespacedEvent({ namespace: ns, fieldSelector: 'reason=Scheduled' });
    const bindings = events.items
      .filter((e) => e.involvedObject.name?.startsWith('offline-r1-'))
      .map((e) => /to (\S+)$/.exec(e.message ?? '')?.[1]);
    expect(bindings).toHaveLength(4);
    for (const node of bindings) {
      expect(node).toMatch(/^kwok-node-/);
      expect(servingNodes.has(node!)).toBe(false);
    }
    const jobPod = (await c.core.listNamespacedPod({ namespace: ns, labelSelector: 'workflow=offline' })).items[0];
    expect(
      jobPod?.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0]?.labelSelector
        ?.matchLabels,
    ).toEqual(modelPods);
  });

  test('executor primitives: upgrade/affinity/resources change the stored definition; runExecutor and stopExecutor', async () => {
    const p = adminPlatform(c, ns);
    const spec = diamond('retrain');
    await p.applyBatchWorkflow(spec);
    await p.upgradeExecutor(spec, 'b', { image: 'scanflow/train:2', env: { EPOCHS: '3' } });
    await p.updateExecutorResource(spec, 'b', { requests: { cpu: '1', memory: '1Gi' } });
    await p.updateExecutorAffinity(spec, 'b', { nodeSelector: { 'topology.kubernetes.io/zone': 'zone-2' } });
    await p.upgradeBatchWorkflow(spec, { env: { MODEL_VERSION: '8' } });
    await p.updateBatchWorkflowResource(spec, { limits: { memory: '2Gi' } });
    const stored = await p.readBatchWorkflow(spec);
    const b = stored.executors.find((e) => e.name === 'b')!;
    expect(b).toMatchObject({
      image: 'scanflow/train:2',
      env: { EPOCHS: '3', MODEL_VERSION: '8' },
      affinity: { nodeSelector: { 'topology.kubernetes.io/zone': 'zone-2' } },
      resources: { limits: { memory: '2Gi' } },
    });
    expect(stored.executors.find((e) => e.name === 'd')!.env).toEqual({ MODEL_VERSION: '8' });

    const step = await p.runExecutor(spec, 'b', 'x1', { pollMs: 200 });
    expect(step).toMatchObject({ executor: 'b', job: 'retrain-x1-b', phase: 'Succeeded' });
    const pod = (await c.core.listNamespacedPod({ namespace: ns, labelSelector: 'scanflow.io/run=x1' })).items[0]!;
    expect(pod.spec?.containers[0]?.image).toBe('scanflow/train:2');
    expect(pod.spec?.containers[0]?.resources).toEqual({ limits: { memory: '2Gi' }, requests: { memory: '2Gi' } });
    expect(pod.spec?.nodeName).toBe('kwok-node-c'); // the only zone-2 node
    await p.stopExecutor(spec, 'b', 'x1');
    await p.stopExecutor(spec, 'b', 'x1');
    expect(
      (await c.batch.listNamespacedJob({ namespace: ns, labelSelector: 'scanflow.io/run=x1' })).items,
    ).toHaveLength(0);

    const err = (await p.upgradeExecutor(spec, 'nope', { image: 'x' }).catch((e: unknown) => e)) as ApplicationFailure;
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/has no executor 'nope' \(known: a, b, c, d\)/);
  });

  test('stopWorkflow deletes a stuck run; following it can be aborted', async () => {
    const p = adminPlatform(c, ns);
    const spec: BatchWorkflowSpec = {
      app: 'mnist',
      workflow: 'stuck',
      executors: [{ name: 'a', image: 'x:1', affinity: { nodeSelector: { 'scanflow.io/pool': 'gpu' } } }],
    };
    await p.applyBatchWorkflow(spec);
    const abort = new AbortController();
    const following = p.runWorkflow(spec, 'r1', {
      pollMs: 200,
      signal: abort.signal,
      onProgress: (s) => {
        if (s.steps[0]?.phase === 'Running') abort.abort(new Error('stop following'));
      },
    });
    await expect(following).rejects.toThrow('stop following');
    const pods = await c.core.listNamespacedPod({ namespace: ns, labelSelector: 'workflow=stuck' });
    expect(pods.items[0]?.status?.phase).toBe('Pending'); // no gpu node: unschedulable
    await p.stopWorkflow(spec);
    await p.stopWorkflow(spec);
    expect((await c.batch.listNamespacedJob({ namespace: ns, labelSelector: 'workflow=stuck' })).items).toHaveLength(0);
    await waitFor(
      'pods of the stopped run gone',
      async () =>
        (await c.core.listNamespacedPod({ namespace: ns, labelSelector: 'workflow=stuck' })).items.length === 0,
    );
  });

  test('bad batch specs are refused before anything is written', async () => {
    const p = adminPlatform(c, ns);
    const cyc: BatchWorkflowSpec = {
      app: 'mnist',
      workflow: 'cyc',
      executors: [
        { name: 'a', image: 'x', dependsOn: ['b'] },
        { name: 'b', image: 'x', dependsOn: ['a'] },
      ],
    };
    await expect(p.applyBatchWorkflow(cyc)).rejects.toThrow("batch workflow 'cyc': dependsOn has a cycle among a, b");
    await expect(
      p.applyBatchWorkflow({ ...cyc, executors: [{ name: 'a', image: 'x', dependsOn: ['zz'] }] }),
    ).rejects.toThrow("executors[0] ('a').dependsOn names unknown executor 'zz'");
    await expect(p.applyBatchWorkflow({ ...cyc, executors: [{ name: 'Bad_Name', image: 'x' }] })).rejects.toThrow(
      /executors\[0\].name 'Bad_Name' must be a DNS label/,
    );
    await expect(p.runWorkflow({ app: 'mnist', workflow: 'undefined-wf' }, 'r1')).rejects.toThrow(/is not defined in/);
    await expect(c.core.readNamespacedConfigMap({ name: 'scanflow-batch-cyc', namespace: ns })).rejects.toMatchObject({
      code: 404,
    });
  });
});
