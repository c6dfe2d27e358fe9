import { describe, expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { KubernetesPlatform } from '../../src/platform/kubernetes/adapter.js';
import { kubeFailure } from '../../src/platform/kubernetes/api-errors.js';
import { freePort } from '../../src/stack/ports.js';
import { requireEnv } from '../harness/env.js';
import { freshNamespace, testCluster } from './cluster.js';

const c = testCluster();

describe('error classification of real API server answers', () => {
  test('409 AlreadyExists is non-retryable and carries the API server message', async () => {
    const ns = await freshNamespace(c, 'errors');
    const err = await c.core.createNamespace({ body: { metadata: { name: ns } } }).catch((e: unknown) => e);
    const failure = kubeFailure(err, `create namespace ${ns}`);
    expect(failure.type).toBe('KubernetesAlreadyExists');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(`create namespace ${ns}: namespaces "${ns}" already exists (HTTP 409 AlreadyExists)`);
  });

  test('404 on a missing object is non-retryable; deletes of missing objects are no-ops', async () => {
    const ns = await freshNamespace(c, 'errors');
    const p = new KubernetesPlatform({ kubeconfigPath: c.kubeconfigPath, namespace: ns });
    const err = (await p
      .duplicateWorkflowInstance({ app: 'a', workflow: 'nothing' }, 'model', 2)
      .catch((e: unknown) => e)) as ApplicationFailure;
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.type).toBe('KubernetesNotFound');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/deployments.apps "nothing-model" not found \(HTTP 404 NotFound\)/);
    await p.deleteWorkflowInstance({ app: 'a', workflow: 'nothing' }, 'model');
    await p.deleteWorkflow({ app: 'a', workflow: 'nothing' });
    await p.stopWorkflow({ app: 'a', workflow: 'nothing' });
  });

  test('an unreachable API server is retryable', async () => {
    const port = await freePort(); // nothing listens there
    const path = join(requireEnv('SCANFLOW_TEST_DIR'), 'kubeconfig-unreachable');
    writeFileSync(
      path,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'gone', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } },
        ],
        users: [{ name: 'u', user: { token: 'x' } }],
        contexts: [{ name: 'gone', context: { cluster: 'gone', user: 'u' } }],
        'current-context': 'gone',
      }),
    );
    const p = new KubernetesPlatform({ kubeconfigPath: path, namespace: 'default' });
    const err = (await p.readyReplicas({ app: 'a', workflow: 'b' }).catch((e: unknown) => e)) as ApplicationFailure;
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.type).toBe('KubernetesUnavailable');
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toMatch(/cannot reach the Kubernetes API server/);
  });
});
