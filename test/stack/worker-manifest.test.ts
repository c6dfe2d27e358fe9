/**
 * deploy/worker/workers.yaml: the real kube-apiserver accepts it (with the platform RBAC), its
 * Deployments create pods, and each container's environment is a configuration the worker
 * accepts (roles, platform, knowledge base), read by the same loader the worker uses.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { KubernetesObjectApi, loadAllYaml, type KubernetesObject, type V1Deployment } from '@kubernetes/client-node';
import { loadConfig } from '../../src/config.js';
import { parseRoles } from '../../workers/parse-roles.js';
import { freshNamespace, testCluster, waitFor } from '../kubernetes/cluster.js';

const read = (path: string) =>
  loadAllYaml(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')) as KubernetesObject[];
const workers = read('deploy/worker/workers.yaml') as V1Deployment[];

/** The container's env as the process would see it (secrets and the downward API filled in). */
function containerEnv(d: V1Deployment, namespace: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const secret: Record<string, string> = { endpoint: 'http://s3.scanflow:7070', 'access-key': 'a', 'secret-key': 'b' };
  for (const e of d.spec!.template.spec!.containers[0]!.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) env[e.name] = secret[e.valueFrom.secretKeyRef.key];
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = namespace;
  }
  return env;
}

describe('deploy/worker/workers.yaml', () => {
  it('declares one worker per group of task queues, each a configuration the worker accepts', () => {
    expect(workers.map((d) => d.metadata!.name)).toEqual([
      'scanflow-agents-worker',
      'scanflow-ml-worker',
      'scanflow-platform-worker',
    ]);
    const roles = workers.map((d) => parseRoles(containerEnv(d, 'ns').SCANFLOW_WORKER_ROLES));
    expect(roles.flat().sort()).toEqual(['agents', 'kubernetes', 'ml', 'system']);
    const [agents, ml, platform] = workers.map((d) => loadConfig(containerEnv(d, 'scanflow-prod')));
    expect(agents!.knowledge).toMatchObject({ kind: 's3', endPoint: 's3.scanflow', port: 7070, bucket: 'scanflow' });
    expect(ml!.knowledge.kind).toBe('s3');
    expect(platform!.platform).toEqual({ kind: 'kubernetes', kubeconfig: undefined, namespace: 'scanflow-prod' });
    // Only the platform worker talks to the Kubernetes API, with the least-privilege account.
    expect(workers.map((d) => d.spec!.template.spec!.serviceAccountName ?? null)).toEqual([
      null,
      null,
      'scanflow-platform',
    ]);
    expect(workers.map((d) => d.spec!.template.spec!.automountServiceAccountToken ?? true)).toEqual([
      false,
      false,
      true,
    ]);
  });

  it('is accepted by the API server together with the RBAC, and its Deployments create pods', async () => {
    const c = testCluster();
    const namespace = await freshNamespace(c, 'worker-manifest');
    const api = KubernetesObjectApi.makeApiClient(c.kc);
    for (const o of [...read('deploy/rbac/scanflow-platform.yaml'), ...workers]) {
      await api.create({ ...o, metadata: { ...o.metadata, namespace } });
    }
    const pods = await waitFor('a pod of every worker', async () => {
      const list = await c.core.listNamespacedPod({
        namespace,
        labelSelector: 'app.kubernetes.io/name=scanflow-worker',
      });
      const groups = new Set(list.items.map((p) => p.metadata?.labels?.['scanflow.io/worker-roles']));
      return groups.size === 3 ? list.items : undefined;
    });
    const platformPod = pods.find((p) => p.metadata?.labels?.['scanflow.io/worker-roles'] === 'kubernetes')!;
    expect(platformPod.spec?.serviceAccountName).toBe('scanflow-platform');
    // The image's entry point (deploy/image/entrypoint.mjs) with its `worker` command.
    expect(platformPod.spec?.containers[0]?.command).toBeUndefined();
    for (const p of pods) expect(p.spec?.containers[0]?.args).toEqual(['worker']);
    await c.core.deleteNamespace({ name: namespace });
  });
});
