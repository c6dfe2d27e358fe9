import { describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { ApplicationFailure } from '@temporalio/common';
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { binaryPath } from '../../src/stack/binaries.js';
import { KubernetesPlatform } from '../../src/platform/kubernetes/adapter.js';
import { freshNamespace, testCluster, waitFor } from './cluster.js';
import { rbacOverlay, serviceAccountKubeconfig } from './rbac-support.js';

const c = testCluster();

type Doc = KubernetesObject & { subjects?: Array<{ kind: string; name: string; namespace?: string }> };

/**
 * Installs deploy/rbac in `namespace` as an administrator would: an overlay whose only content
 * is `namespace: <namespace>` over deploy/rbac, rendered by kustomize (kubectl kustomize) and
 * applied as is (nothing rewritten here).
 */
async function installRbac(namespace: string): Promise<Doc[]> {
  const rendered = execFileSync(binaryPath('kubectl'), ['kustomize', rbacOverlay(namespace)], { encoding: 'utf8' });
  const docs = loadAllYaml(rendered) as Doc[];
  const objects = KubernetesObjectApi.makeApiClient(c.kc);
  for (const doc of docs)
    await objects.patch(doc, undefined, undefined, 'rbac-test', true, PatchStrategy.ServerSideApply);
  return docs;
}

describe('least-privilege RBAC (deploy/rbac) with a ServiceAccount token', () => {
  test('the primitives work with the Role; Secrets and other namespaces are refused', async () => {
    const ns = await freshNamespace(c, 'rbac');
    const other = await freshNamespace(c, 'rbac-other');
    const docs = await installRbac(ns);
    // Bound to the ServiceAccount of the namespace it was applied to, not of `default`.
    const binding = docs.find((d) => d.kind === 'RoleBinding')!;
    expect(binding.metadata?.namespace).toBe(ns);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'scanflow-platform', namespace: ns }]);
    // The namespace enforces Pod Security `restricted`: the pods below are admitted only if they comply.
    const namespace = await c.core.readNamespace({ name: ns });
    expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const kubeconfigPath = await serviceAccountKubeconfig(c, ns);
    const p = new KubernetesPlatform({ kubeconfigPath, namespace: ns });

    // Every kind of primitive, as the ServiceAccount.
    const ref = { app: 'mnist', workflow: 'serving' };
    await p.deployWorkflow({
      ...ref,
      services: [
        {
          name: 'model',
          image: 'm:1',
          port: 8080,
          replicas: 1,
          autoscaling: {
            kind: 'keda',
            minReplicas: 1,
            maxReplicas: 3,
            prometheus: { serverAddress: 'http://p:9090', query: 'q', threshold: 10 },
          },
        },
      ],
      backup: {
        name: 'backup',
        image: 'm:1',
        port: 8080,
        replicas: 1,
        autoscaling: { kind: 'hpa', minReplicas: 1, maxReplicas: 2, cpuUtilization: 70 },
      },
      traffic: { weights: { model: 90, backup: 10 } },
    });
    await p.upgradeOnlineWorkflow(ref, 'model', { image: 'm:2' });
    await p.updateOnlineWorkflowResource(ref, 'model', { requests: { cpu: '100m' } });
    await p.updateOnlineWorkflowAffinity(ref, 'model', { nodeSelector: { 'scanflow.io/pool': 'general' } });
    await p.updateWorkflowReplica(ref, 'model', { threshold: 5 });
    await p.updateWorkflowReplica(ref, 'backup', { maxReplicas: 4 });
    await p.updateWorkflowTraffic(ref, { active: 'backup' });
    await p.duplicateWorkflowInstance(ref, 'model', 2);
    await p.applyWorkflowInstance(ref, { name: 'canary', image: 'm:3', port: 8080, replicas: 1 });
    await p.deleteWorkflowInstance(ref, 'canary');
    // The Deployments' status and the pod list are two reads: a status can count a pod the rollouts
    // above have just replaced, so both are awaited, not the status alone.
    await waitFor(
      '3 ready replicas and their pods seen by the ServiceAccount',
      async () =>
        (await p.readyReplicas(ref)).reduce((a, r) => a + r.ready, 0) === 3 &&
        (await p.podPlacement(ref)).filter((x) => x.ready).length >= 3,
    );
    expect((await p.podPlacement(ref)).length).toBeGreaterThanOrEqual(3);
    // Generated pods: restricted securityContext, no ServiceAccount token.
    for (const pod of (await c.core.listNamespacedPod({ namespace: ns })).items) {
      expect(pod.spec?.automountServiceAccountToken).toBe(false);
      expect(pod.spec?.containers[0]?.securityContext).toMatchObject({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.spec?.volumes?.some((v) => v.projected || v.secret)).toBe(false);
    }
    const batch = {
      app: 'mnist',
      workflow: 'train',
      executors: [
        { name: 'a', image: 'x:1' },
        { name: 'b', image: 'x:1', dependsOn: ['a'] },
      ],
    };
    await p.applyBatchWorkflow(batch);
    await p.upgradeExecutor(batch, 'b', { image: 'x:2' });
    await p.updateBatchWorkflowAffinity(batch, { nodeSelector: { 'scanflow.io/pool': 'general' } });
    expect((await p.runWorkflow(batch, 'r1', { pollMs: 200 })).phase).toBe('Succeeded');
    expect((await p.runExecutor(batch, 'a', 'r2', { pollMs: 200 })).phase).toBe('Succeeded');
    expect((await p.jobStatus(batch, 'r1')).phase).toBe('Succeeded');
    await p.stopExecutor(batch, 'a', 'r2');
    await p.stopWorkflow(batch);
    await p.deleteWorkflow(ref);

    // Not granted: Secrets in its own namespace ...
    const saCore = (() => {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      return kc.makeApiClient(CoreV1Api);
    })();
    await expect(saCore.listNamespacedSecret({ namespace: ns })).rejects.toMatchObject({ code: 403 });
    await expect(saCore.readNamespacedSecret({ namespace: ns, name: 'anything' })).rejects.toMatchObject({ code: 403 });
    // ... nodes (cluster-scoped) ...
    await expect(saCore.listNode()).rejects.toMatchObject({ code: 403 });
    // ... and any other namespace, through the same primitives.
    const elsewhere = new KubernetesPlatform({ kubeconfigPath, namespace: other });
    const err = (await elsewhere
      .deployWorkflow({ ...ref, services: [{ name: 'model', image: 'm:1', port: 8080, replicas: 1 }] })
      .catch((e: unknown) => e)) as ApplicationFailure;
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.type).toBe('KubernetesForbidden');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(
      /system:serviceaccount:rbac-\d+-\d+:scanflow-platform" cannot patch resource "deployments"/,
    );
    await expect(elsewhere.readyReplicas(ref)).rejects.toMatchObject({ type: 'KubernetesForbidden' });
    expect((await c.apps.listNamespacedDeployment({ namespace: other })).items).toHaveLength(0);
    // The Role grants nothing cluster-wide and no wildcard.
    const role = await c.kc
      .makeApiClient((await import('@kubernetes/client-node')).RbacAuthorizationV1Api)
      .readNamespacedRole({ name: 'scanflow-platform', namespace: ns });
    for (const rule of role.rules ?? []) {
      expect(rule.verbs).not.toContain('*');
      expect(rule.resources).not.toContain('*');
      expect(rule.resources).not.toContain('secrets');
    }
  });
});
