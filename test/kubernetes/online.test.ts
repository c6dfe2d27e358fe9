import { describe, expect, test, beforeAll } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import type { OnlineWorkflowSpec } from '../../src/platform/types.js';
import { adminPlatform, freshNamespace, testCluster, waitFor } from './cluster.js';

const c = testCluster();

function spec(over: Partial<OnlineWorkflowSpec> = {}): OnlineWorkflowSpec {
  return {
    app: 'mnist',
    workflow: 'serving',
    services: [
      {
        name: 'model',
        image: 'scanflow/model-server:1',
        port: 8080,
        replicas: 2,
        env: { MODEL_VERSION: '1' },
        resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } },
      },
    ],
    backup: { name: 'backup', image: 'scanflow/model-server:1', port: 8080, replicas: 1 },
    ...over,
  };
}

describe('online workflow primitives on a real control plane', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await freshNamespace(c, 'online');
  });

  test('deployWorkflow creates labelled Deployments/Services, pods become Ready, and is idempotent', async () => {
    const p = adminPlatform(c, ns);
    await p.deployWorkflow(spec());
    await p.deployWorkflow(spec()); // applying twice must change nothing
    const deps = await c.apps.listNamespacedDeployment({ namespace: ns });
    expect(deps.items.map((d) => d.metadata?.name).sort()).toEqual(['serving-backup', 'serving-model']);
    for (const d of deps.items) {
      expect(d.metadata?.labels).toMatchObject({
        app: 'mnist',
        workflow: 'serving',
        'app.kubernetes.io/managed-by': 'scanflow',
      });
      expect(d.metadata?.generation).toBe(1); // the second apply did not touch the template
    }
    const svcs = await c.core.listNamespacedService({ namespace: ns });
    expect(svcs.items.map((s) => s.metadata?.name).sort()).toEqual(['serving', 'serving-backup', 'serving-model']);
    const entry = svcs.items.find((s) => s.metadata?.name === 'serving')!;
    expect(entry.spec?.selector).toMatchObject({ 'scanflow.io/component': 'model' });

    const ready = await waitFor('3 ready replicas', async () => {
      const r = await p.readyReplicas(spec());
      return r.reduce((a, s) => a + s.ready, 0) === 3 ? r : undefined;
    });
    expect(ready).toEqual([
      { service: 'backup', desired: 1, ready: 1, available: 1, updated: 1 },
      { service: 'model', desired: 2, ready: 2, available: 2, updated: 2 },
    ]);
    const placement = await p.podPlacement(spec());
    expect(placement).toHaveLength(3);
    for (const pod of placement) expect(pod.node).toMatch(/^kwok-node-/);
    // resources reach the pod spec
    const pods = await c.core.listNamespacedPod({ namespace: ns, labelSelector: 'scanflow.io/component=model' });
    expect(pods.items[0]?.spec?.containers[0]?.resources).toEqual({
      requests: { cpu: '250m', memory: '128Mi' },
      limits: { cpu: '1', memory: '256Mi' },
    });
  });

  test('upgradeWorkflow rolls the pods to the new image and model version', async () => {
    const p = adminPlatform(c, ns);
    await p.upgradeOnlineWorkflow(spec(), 'model', { image: 'scanflow/model-server:2', env: { MODEL_VERSION: '2' } });
    await p.upgradeOnlineWorkflow(spec(), 'model', { image: 'scanflow/model-server:2', env: { MODEL_VERSION: '2' } });
    const d = await c.apps.readNamespacedDeployment({ name: 'serving-model', namespace: ns });
    expect(d.metadata?.generation).toBe(2); // the repeat was a no-op
    const container = d.spec?.template.spec?.containers[0];
    expect(container?.image).toBe('scanflow/model-server:2');
    expect(container?.env).toEqual([{ name: 'MODEL_VERSION', value: '2' }]);
    expect(container?.resources?.requests).toEqual({ cpu: '250m', memory: '128Mi' }); // deploy's fields kept
    await waitFor('all model pods on image 2 and ready', async () => {
      const pods = (await p.podPlacement(spec())).filter((x) => x.component === 'model');
      return pods.length === 2 && pods.every((x) => x.image === 'scanflow/model-server:2' && x.ready);
    });
  });

  test('updateWorkflowResource and updateWorkflowAffinity reach the pod template', async () => {
    const p = adminPlatform(c, ns);
    await p.updateOnlineWorkflowResource(spec(), 'model', {
      requests: { cpu: '500m', memory: '256Mi' },
      limits: { cpu: '2', memory: '512Mi' },
    });
    await p.updateOnlineWorkflowAffinity(spec(), 'model', {
      antiAffinity: [{ matchLabels: { app: 'other' }, mode: 'preferred', weight: 50 }],
    });
    const t = (await c.apps.readNamespacedDeployment({ name: 'serving-model', namespace: ns })).spec?.template.spec;
    expect(t?.containers[0]?.resources).toEqual({
      requests: { cpu: '500m', memory: '256Mi' },
      limits: { cpu: '2', memory: '512Mi' },
    });
    expect(t?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution).toEqual([
      {
        weight: 50,
        podAffinityTerm: { labelSelector: { matchLabels: { app: 'other' } }, topologyKey: 'kubernetes.io/hostname' },
      },
    ]);
    await waitFor('model pods rolled with the new requests', async () => {
      const pods = await c.core.listNamespacedPod({ namespace: ns, labelSelector: 'scanflow.io/component=model' });
      const live = pods.items.filter((x) => !x.metadata?.deletionTimestamp);
      return (
        live.length === 2 &&
        live.every(
          (x) =>
            x.spec?.containers[0]?.resources?.requests?.cpu === '500m' &&
            x.status?.conditions?.some((k) => k.type === 'Ready' && k.status === 'True'),
        )
      );
    });
  });

  test('duplicateWorkflowInstance changes the replica count and pods follow', async () => {
    const p = adminPlatform(c, ns);
    await p.duplicateWorkflowInstance(spec(), 'model', 4);
    await waitFor(
      '4 ready model replicas',
      async () => (await p.readyReplicas(spec())).find((r) => r.service === 'model')?.ready === 4,
    );
    await p.duplicateWorkflowInstance(spec(), 'model', 1);
    await waitFor(
      '1 model pod left',
      async () => (await p.podPlacement(spec())).filter((x) => x.component === 'model').length === 1,
    );
    // the Deployment's status catches up with its pods
    await waitFor('status: 1 ready of 1', async () => {
      const r = (await p.readyReplicas(spec())).find((x) => x.service === 'model');
      return r?.desired === 1 && r.ready === 1;
    });
  });

  test('applyWorkflowInstance adds a service instance, deleteWorkflowInstance removes it (twice is fine)', async () => {
    const p = adminPlatform(c, ns);
    await p.applyWorkflowInstance(spec(), {
      name: 'canary',
      image: 'scanflow/model-server:3',
      port: 8080,
      replicas: 1,
    });
    await waitFor(
      'canary ready',
      async () => (await p.readyReplicas(spec())).find((r) => r.service === 'canary')?.ready === 1,
    );
    await p.deleteWorkflowInstance(spec(), 'canary');
    await p.deleteWorkflowInstance(spec(), 'canary');
    await expect(c.apps.readNamespacedDeployment({ name: 'serving-canary', namespace: ns })).rejects.toMatchObject({
      code: 404,
    });
    await expect(c.core.readNamespacedService({ name: 'serving-canary', namespace: ns })).rejects.toMatchObject({
      code: 404,
    });
  });

  test('updateWorkflowTraffic writes VirtualService weights, and switches the entry Service to the backup', async () => {
    const p = adminPlatform(c, ns);
    await p.updateWorkflowTraffic(spec(), { weights: { model: 80, backup: 20 } });
    const vs = (await c.kc
      .makeApiClient((await import('@kubernetes/client-node')).CustomObjectsApi)
      .getNamespacedCustomObject({
        group: 'networking.istio.io',
        version: 'v1',
        namespace: ns,
        plural: 'virtualservices',
        name: 'serving',
      })) as { spec: { http: Array<{ route: Array<{ destination: { subset: string }; weight: number }> }> } };
    expect(vs.spec.http[0]?.route.map((r) => [r.destination.subset, r.weight])).toEqual([
      ['model', 80],
      ['backup', 20],
    ]);
    await p.updateWorkflowTraffic(spec(), { active: 'backup' });
    const entry = await c.core.readNamespacedService({ name: 'serving', namespace: ns });
    expect(entry.spec?.selector).toMatchObject({ 'scanflow.io/component': 'backup' });
    await expect(
      c.kc.makeApiClient((await import('@kubernetes/client-node')).CustomObjectsApi).getNamespacedCustomObject({
        group: 'networking.istio.io',
        version: 'v1',
        namespace: ns,
        plural: 'virtualservices',
        name: 'serving',
      }),
    ).rejects.toMatchObject({ code: 404 });
    // the endpoints follow the selector: only backup pod IPs behind the entry Service
    const backupIps = (
      await c.core.listNamespacedPod({ namespace: ns, labelSelector: 'scanflow.io/component=backup' })
    ).items.map((x) => x.status?.podIP);
    await waitFor('entry endpoints = backup pods', async () => {
      const slices = await c.kc
        .makeApiClient((await import('@kubernetes/client-node')).DiscoveryV1Api)
        .listNamespacedEndpointSlice({ namespace: ns, labelSelector: 'kubernetes.io/service-name=serving' });
      const ips = slices.items.flatMap((s) => s.endpoints.flatMap((e) => e.addresses));
      return ips.length === backupIps.length && ips.every((ip) => backupIps.includes(ip));
    });
    await expect(p.updateWorkflowTraffic(spec(), { weights: { model: 70, backup: 20 } })).rejects.toThrow(
      /must sum to 100, got 90/,
    );
    await expect(p.updateWorkflowTraffic(spec(), { active: 'nope' })).rejects.toThrow(/'nope' is not a service/);
  });

  test('updateWorkflowReplica changes the KEDA ScaledObject threshold/min/max; HPA too', async () => {
    const p = adminPlatform(c, ns);
    const ref = { app: 'mnist', workflow: 'scaled' };
    await p.deployWorkflow({
      ...ref,
      services: [
        {
          name: 'keda',
          image: 'm:1',
          port: 8080,
          replicas: 1,
          autoscaling: {
            kind: 'keda',
            minReplicas: 1,
            maxReplicas: 5,
            prometheus: {
              serverAddress: 'http://prometheus:9090',
              query: 'sum(rate(requests_total[1m]))',
              threshold: 20,
            },
          },
        },
        {
          name: 'hpa',
          image: 'm:1',
          port: 8080,
          replicas: 1,
          autoscaling: { kind: 'hpa', minReplicas: 1, maxReplicas: 3, cpuUtilization: 80 },
        },
      ],
    });
    await p.updateWorkflowReplica(ref, 'keda', { threshold: 12.5, maxReplicas: 8 });
    await p.updateWorkflowReplica(ref, 'keda', { threshold: 12.5, maxReplicas: 8 });
    const { CustomObjectsApi, AutoscalingV2Api } = await import('@kubernetes/client-node');
    const so = (await c.kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: 'keda.sh',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'scaledobjects',
      name: 'scaled-keda',
    })) as {
      metadata: { generation: number };
      spec: { minReplicaCount: number; maxReplicaCount: number; triggers: Array<{ metadata: Record<string, string> }> };
    };
    expect(so.spec).toMatchObject({ minReplicaCount: 1, maxReplicaCount: 8 });
    expect(so.spec.triggers[0]?.metadata).toEqual({
      serverAddress: 'http://prometheus:9090',
      query: 'sum(rate(requests_total[1m]))',
      threshold: '12.5',
    });
    expect(so.metadata.generation).toBe(2);
    await p.updateWorkflowReplica(ref, 'hpa', { threshold: 50, minReplicas: 2 });
    const hpa = await c.kc
      .makeApiClient(AutoscalingV2Api)
      .readNamespacedHorizontalPodAutoscaler({ name: 'scaled-hpa', namespace: ns });
    expect(hpa.spec?.minReplicas).toBe(2);
    expect(hpa.spec?.metrics?.[0]?.resource?.target.averageUtilization).toBe(50);
    const err = await p.updateWorkflowReplica(ref, 'nothing', { threshold: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as ApplicationFailure).message).toMatch(/has no autoscaler/);
  });

  test('an invalid object gets the API server message, non-retryable, and changes nothing', async () => {
    const p = adminPlatform(c, ns);
    const before = await c.apps.readNamespacedDeployment({ name: 'serving-model', namespace: ns });
    const err = await p
      .updateOnlineWorkflowResource(spec(), 'model', { requests: { cpu: 'lots' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    // checked before sending: the API server answers a malformed quantity with HTTP 500
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as ApplicationFailure).message).toBe(
      "resources.requests.cpu 'lots' is not a Kubernetes quantity (e.g. 500m, 2, 256Mi)",
    );
    const after = await c.apps.readNamespacedDeployment({ name: 'serving-model', namespace: ns });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    // requests above limits: 422 Invalid from the API server's validation
    const err2 = (await p
      .updateOnlineWorkflowResource(spec(), 'model', { requests: { cpu: '4' }, limits: { cpu: '1' } })
      .catch((e: unknown) => e)) as ApplicationFailure;
    expect(err2.type).toBe('KubernetesInvalid');
    expect(err2.message).toMatch(/must be less than or equal to cpu limit/);
    expect(
      (await c.apps.readNamespacedDeployment({ name: 'serving-model', namespace: ns })).metadata?.resourceVersion,
    ).toBe(before.metadata?.resourceVersion);
    // a primitive on a workflow that does not exist: 404, non-retryable
    const err3 = (await p
      .upgradeOnlineWorkflow({ app: 'mnist', workflow: 'ghost' }, 'model', { image: 'x' })
      .catch((e: unknown) => e)) as ApplicationFailure;
    expect(err3.type).toBe('KubernetesNotFound');
    expect(err3.nonRetryable).toBe(true);
  });

  test('deleteWorkflow removes every object it owns and is idempotent', async () => {
    const p = adminPlatform(c, ns);
    await p.deleteWorkflow(spec());
    await p.deleteWorkflow(spec());
    expect(
      (await c.apps.listNamespacedDeployment({ namespace: ns, labelSelector: 'workflow=serving' })).items,
    ).toHaveLength(0);
    expect(
      (await c.core.listNamespacedService({ namespace: ns, labelSelector: 'workflow=serving' })).items,
    ).toHaveLength(0);
    // the other workflow in the namespace is untouched
    expect(
      (await c.apps.listNamespacedDeployment({ namespace: ns, labelSelector: 'workflow=scaled' })).items,
    ).toHaveLength(2);
  });
});
