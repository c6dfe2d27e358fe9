import { describe, expect, test } from '@jest/globals';
import { fakeNodeObject, KWOK_NODE_ANNOTATION } from '../../src/platform/kubernetes/control-plane/nodes.js';
import { adminPlatform, freshNamespace, testCluster, waitFor } from './cluster.js';

const c = testCluster();

/** Endpoint IPs behind a Service, from its EndpointSlices (ready endpoints only). */
async function readyEndpointIps(namespace: string, service: string): Promise<string[]> {
  const { DiscoveryV1Api } = await import('@kubernetes/client-node');
  const slices = await c.kc
    .makeApiClient(DiscoveryV1Api)
    .listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${service}` });
  return slices.items
    .flatMap((s) => s.endpoints.filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses))
    .sort();
}

describe('fail-over to a declared backup when the service node fails', () => {
  test('node NotReady → ready replicas 0 → updateWorkflowTraffic sends traffic to the backup', async () => {
    const ns = await freshNamespace(c, 'failover');
    // A node of its own, so failing it does not disturb other tests' pods.
    const node = { name: 'kwok-node-failover', labels: { 'scanflow.io/pool': 'failover' }, cpu: '4', memory: '8Gi' };
    await c.core.createNode({ body: fakeNodeObject(node) });
    try {
      await waitFor('failover node Ready', async () =>
        (await c.core.readNode({ name: node.name })).status?.conditions?.some(
          (k) => k.type === 'Ready' && k.status === 'True',
        ),
      );
      const p = adminPlatform(c, ns);
      const ref = { app: 'mlperf', workflow: 'server' };
      await p.deployWorkflow({
        ...ref,
        services: [
          {
            name: 'model',
            image: 'scanflow/model-server:1',
            port: 8080,
            replicas: 2,
            affinity: { nodeSelector: { 'scanflow.io/pool': 'failover' } },
          },
        ],
        backup: {
          name: 'backup',
          image: 'scanflow/model-server:1',
          port: 8080,
          replicas: 1,
          affinity: { nodeSelector: { 'scanflow.io/pool': 'general' } },
        },
      });
      await waitFor('model 2/2 and backup 1/1 ready', async () => {
        const r = await p.readyReplicas(ref);
        return r.find((x) => x.service === 'model')?.ready === 2 && r.find((x) => x.service === 'backup')?.ready === 1;
      });
      const pods = await p.podPlacement(ref);
      expect(pods.filter((x) => x.component === 'model').map((x) => x.node)).toEqual([node.name, node.name]);
      const modelIps = (
        await c.core.listNamespacedPod({ namespace: ns, labelSelector: 'scanflow.io/component=model' })
      ).items
        .map((x) => x.status!.podIP!)
        .sort();
      const backupIps = (
        await c.core.listNamespacedPod({ namespace: ns, labelSelector: 'scanflow.io/component=backup' })
      ).items
        .map((x) => x.status!.podIP!)
        .sort();
      await waitFor(
        'entry Service serves the model pods',
        async () => JSON.stringify(await readyEndpointIps(ns, 'server')) === JSON.stringify(modelIps),
      );

      // The node fails. KWOK plays its kubelet: deleting the Node makes KWOK release it, and the
      // Node is re-registered at once without KWOK's annotation, so nobody heartbeats it any more
      // (its pods stay bound to it). After --node-monitor-grace-period (20 s here) the
      // node-lifecycle controller turns it Ready=Unknown and marks its pods not ready, as for a
      // real dead node.
      await c.core.deleteNode({ name: node.name });
      await waitFor('node deleted', async () =>
        c.core.readNode({ name: node.name }).then(
          () => false,
          (e: { code?: number }) => e.code === 404,
        ),
      );
      const orphan = fakeNodeObject(node);
      delete orphan.metadata!.annotations![KWOK_NODE_ANNOTATION];
      const now = new Date();
      orphan.status = {
        ...orphan.status,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'last report before the failure',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
      };
      await c.core.createNode({ body: orphan });
      await waitFor(
        'node Ready=Unknown',
        async () =>
          (await c.core.readNode({ name: node.name })).status?.conditions?.some(
            (k) => k.type === 'Ready' && k.status === 'Unknown',
          ),
        80_000,
      );
      await waitFor(
        'model ready replicas reach 0',
        async () => (await p.readyReplicas(ref)).find((x) => x.service === 'model')?.ready === 0,
        30_000,
      );
      // What a fail-over planner does on that observation:
      const replicas = await p.readyReplicas(ref);
      expect(replicas.find((x) => x.service === 'model')?.ready).toBe(0);
      expect(replicas.find((x) => x.service === 'backup')?.ready).toBe(1);
      await p.updateWorkflowTraffic(ref, { active: 'backup' });
      await p.updateWorkflowTraffic(ref, { active: 'backup' });
      await waitFor(
        'entry Service serves the backup pods',
        async () => JSON.stringify(await readyEndpointIps(ns, 'server')) === JSON.stringify(backupIps),
      );
      expect((await c.core.readNamespacedService({ name: 'server', namespace: ns })).spec?.selector).toMatchObject({
        'scanflow.io/component': 'backup',
      });
    } finally {
      await c.core.deleteNode({ name: node.name });
    }
  });
});
