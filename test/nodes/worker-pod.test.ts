/**
 * The platform worker in a pod: deploy/worker/workers.yaml's `scanflow-platform-worker` (the image's
 * `worker` entry point, role kubernetes) runs on a real node with the least-privilege ServiceAccount
 * of deploy/rbac, installed by its kustomization into a namespace that enforces Pod Security
 * `restricted`. It polls a Temporal dev server on this host through the node bridge's address
 * (host-services.ts: a relay there to the loopback frontend), which is what a pod can reach.
 *   - A primitive started as a workflow (platformOperationWorkflow) on the kubernetes task queue
 *     runs in that pod: the object appears and its pods get Ready, and the workflow history names
 *     the pod as the identity of the worker that ran the activity (nothing else polls the queue).
 *   - The same worker, with the same token, is refused Secrets: the platform's own object client,
 *     run in the worker's container (kubectl exec), fails to read the namespace's Secret with a
 *     non-retryable KubernetesForbidden naming the Secret and the ServiceAccount.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import protos from '@temporalio/proto';
import { TaskQueues } from '../../src/agents/conventions.js';
import { serviceObjectName, componentLabels, selectorOf } from '../../src/platform/names.js';
import type { OnlineWorkflowSpec, ReplicaStatus, WorkflowRef } from '../../src/platform/types.js';
import {
  startTemporalForPods,
  type PodReachableTemporal,
} from '../../src/platform/kubernetes/control-plane/host-services.js';
import { applyObjects, renderPlatformRbac, workerDeployment } from '../../src/apps/mnist/kubernetes/workers.js';
import { requireEnv } from '../harness/env.js';
import {
  cluster,
  createNamespace,
  deleteNamespace,
  describePods,
  kubectl,
  podReady,
  waitFor,
  type Cluster,
} from './support.js';

const ref: WorkflowRef = { app: 'podworker', workflow: 'hello' };
const { EventType, TaskQueueType } = protos.temporal.api.enums.v1;

describe('the platform worker in a pod', () => {
  let c: Cluster;
  let ns: string;
  let temporal: PodReachableTemporal;
  let connection: Connection;
  let client: Client;
  let workerPod: string;

  beforeAll(async () => {
    c = cluster();
    const dir = join(requireEnv('SCANFLOW_TEST_DIR'), 'worker-pod');
    mkdirSync(dir, { recursive: true });
    temporal = await startTemporalForPods({ dbFile: join(dir, 'temporal.db'), logDir: join(dir, 'logs') });
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection, namespace: temporal.namespace });

    ns = await createNamespace(c, 'worker-pod', { realNodes: true });
    const kc = new KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    // As an administrator: the RBAC (which labels the namespace Pod Security `restricted`), a Secret
    // the worker must not read, and the worker Deployment of the manifest.
    await applyObjects(kc, renderPlatformRbac(ns));
    await c.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'scanflow-s3' }, stringData: { 'secret-key': 'not-for-the-platform-worker' } },
    });
    await applyObjects(kc, [
      workerDeployment({
        which: 'platform',
        namespace: ns,
        image: c.info.image.ref,
        temporalAddress: temporal.podAddress,
        env: { SCANFLOW_LOG_LEVEL: 'WARN' },
      }),
    ]);
    const pod = await waitFor(
      'the platform worker pod to run',
      180_000,
      async () => {
        const list = await c.core.listNamespacedPod({
          namespace: ns,
          labelSelector: 'scanflow.io/worker-roles=kubernetes',
        });
        return list.items.find((p) => p.status?.phase === 'Running');
      },
      500,
    ).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\n${await describePods(c, ns)}`);
    });
    workerPod = pod.metadata!.name!;
    // Ready for work once it polls the kubernetes task queue (it bundles the workflow code first).
    await waitFor(
      'the in-pod worker to poll scanflow-kubernetes',
      240_000,
      async () => {
        const d = await client.workflowService.describeTaskQueue({
          namespace: temporal.namespace,
          taskQueue: { name: TaskQueues.kubernetes },
          taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        });
        return d.pollers?.some((p) => p.identity?.endsWith(`@${workerPod}`));
      },
      1_000,
    ).catch(async (err: unknown) => {
      const logs = await kubectl(c, ['logs', '-n', ns, workerPod, '--tail=40']).catch((e: unknown) => String(e));
      throw new Error(`${String(err)}\nworker log:\n${logs}`);
    });
  }, 480_000);

  afterAll(async () => {
    await connection?.close();
    if (c && ns) await deleteNamespace(c, ns);
    await temporal?.stop();
  }, 120_000);

  it('runs a primitive started as a Temporal workflow on the kubernetes task queue, with its ServiceAccount', async () => {
    const pod = await c.core.readNamespacedPod({ name: workerPod, namespace: ns });
    expect(pod.spec?.serviceAccountName).toBe('scanflow-platform');
    expect(pod.spec?.nodeName).toMatch(/^scanflow-node-\d+$/);

    const spec: OnlineWorkflowSpec = {
      ...ref,
      services: [
        {
          name: 'hello',
          image: c.info.image.ref,
          command: ['node', '-e', "require('http').createServer((q, s) => s.end('hello')).listen(8080)"],
          port: 8080,
          replicas: 1,
          readinessPath: '/',
          resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { memory: '128Mi' } },
        },
      ],
    };
    const workflowId = `scanflow.test.worker-pod.deploy.${ns}`;
    const handle = await client.workflow.start('platformOperationWorkflow', {
      taskQueue: TaskQueues.kubernetes,
      workflowId,
      args: [{ primitive: 'deployWorkflow', args: spec }],
    });
    await handle.result();

    // The object appears, and the pods of the object the worker wrote run on a real node.
    const deployment = await c.apps.readNamespacedDeployment({ name: serviceObjectName(ref, 'hello'), namespace: ns });
    expect(deployment.metadata?.managedFields?.some((f) => f.manager === 'scanflow')).toBe(true);
    await waitFor(
      'the hello pod Ready',
      180_000,
      async () => {
        const list = await c.core.listNamespacedPod({
          namespace: ns,
          labelSelector: selectorOf(componentLabels(ref, 'hello')),
        });
        return list.items.some(podReady);
      },
      500,
    );

    // The history says who ran it: the worker in the pod (identity pid@hostname, hostname = pod name).
    const history = await handle.fetchHistory();
    const started = (history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
    expect(started.length).toBeGreaterThan(0);
    for (const e of started)
      expect(e.activityTaskStartedEventAttributes?.identity).toMatch(new RegExp(`@${workerPod}$`));
    const scheduled = (history.events ?? []).find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    expect(scheduled?.activityTaskScheduledEventAttributes?.activityType?.name).toBe('deployWorkflow');
    expect(scheduled?.activityTaskScheduledEventAttributes?.taskQueue?.name).toBe(TaskQueues.kubernetes);

    // A sensor through the same path reads what the worker's ServiceAccount may list (pods).
    const replicas = (await client.workflow.execute('platformOperationWorkflow', {
      taskQueue: TaskQueues.kubernetes,
      workflowId: `scanflow.test.worker-pod.ready.${ns}`,
      args: [{ primitive: 'readyReplicas', args: ref }],
    })) as ReplicaStatus[];
    expect(replicas).toEqual([expect.objectContaining({ service: 'hello', ready: 1 })]);
  }, 300_000);

  it('is refused Secrets: the platform client in the worker pod gets 403 Forbidden naming the Secret', async () => {
    // The platform's own object client (src/platform/kubernetes), in-cluster config = the pod's
    // ServiceAccount token, run by the image's node in the worker's container.
    const script = `
      const { NamespacedObjects } = await import('/app/src/platform/kubernetes/objects.ts');
      const { loadKubeConfig, makeClients } = await import('/app/src/platform/kubernetes/client.ts');
      const objects = new NamespacedObjects(process.env.SCANFLOW_K8S_NAMESPACE, makeClients(loadKubeConfig()));
      try {
        await objects.read('v1', 'Secret', 'scanflow-s3');
        console.log(JSON.stringify({ read: true }));
      } catch (e) {
        console.log(JSON.stringify({ type: e.type, nonRetryable: e.nonRetryable, message: e.message }));
      }`;
    const out = await kubectl(
      c,
      ['exec', '-n', ns, workerPod, '--', 'node', '--import', 'tsx', '--input-type=module', '-e', script],
      120_000,
    );
    const result = JSON.parse(out.trim().split('\n').pop()!) as {
      type?: string;
      nonRetryable?: boolean;
      message?: string;
    };
    expect(result).toMatchObject({ type: 'KubernetesForbidden', nonRetryable: true });
    expect(result.message).toContain(`read Secret ${ns}/scanflow-s3`);
    expect(result.message).toContain(
      `User "system:serviceaccount:${ns}:scanflow-platform" cannot get resource "secrets"`,
    );
    expect(result.message).toContain('HTTP 403 Forbidden');
  }, 180_000);
});
