/**
 * The Kubernetes API answering 409 / 422 / 429 / 500 or dropping connections in the middle of a
 * primitive, through a fault-injecting proxy (fault-proxy.ts) in front of the harness's real
 * kube-apiserver: what retrying can fix is retried inside the primitive (bounded, Retry-After
 * honoured) and the primitive succeeds; the rest fails at once, non-retryable, with the API
 * server's own message; a fault that does not clear ends as a retryable failure for Temporal.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { KubernetesPlatform } from '../../src/platform/kubernetes/adapter.js';
import { requireEnv } from '../harness/env.js';
import { freshNamespace, testCluster } from './cluster.js';
import { FaultProxy, type FaultRule } from './fault-proxy.js';

const c = testCluster();
let proxy: FaultProxy;
let platform: KubernetesPlatform;
let ns: string;
const results: string[] = [];

beforeAll(async () => {
  ns = await freshNamespace(c, 'faults');
  proxy = new FaultProxy(c.kc);
  const path = await proxy.start(join(requireEnv('SCANFLOW_TEST_DIR'), `kubeconfig-faults-${process.pid}`), ns);
  platform = new KubernetesPlatform({ kubeconfigPath: path, namespace: ns });
});
afterAll(async () => {
  console.log(`Kubernetes API faults (fault → outcome):\n  ${results.join('\n  ')}`);
  await proxy?.stop();
});

const PATCH_DEPLOYMENT: Pick<FaultRule, 'method' | 'path'> = { method: 'PATCH', path: /\/deployments\/[^/?]+\?/ };
const PATCH_SERVICE: Pick<FaultRule, 'method' | 'path'> = { method: 'PATCH', path: /\/services\/[^/?]+\?/ };
const status = (code: number, reason: string, message: string, retryAfterSeconds?: number) => ({
  status: code,
  reason,
  message,
  ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
});

let n = 0;
async function deploy(): Promise<{ workflow: string; error?: ApplicationFailure; ms: number }> {
  n += 1;
  const workflow = `w${n}`;
  const started = Date.now();
  const error = await platform
    .deployWorkflow({ app: 'faults', workflow, services: [{ name: 'model', image: 'm:1', port: 8080, replicas: 1 }] })
    .then(
      () => undefined,
      (e: unknown) => e as ApplicationFailure,
    );
  return { workflow, error, ms: Date.now() - started };
}

async function deployed(workflow: string): Promise<string[]> {
  const names: string[] = [];
  for (const name of [`${workflow}-model`]) {
    await c.apps.readNamespacedDeployment({ name, namespace: ns });
    names.push(`deployment/${name}`);
  }
  for (const name of [`${workflow}-model`, workflow]) {
    await c.core.readNamespacedService({ name, namespace: ns });
    names.push(`service/${name}`);
  }
  return names;
}

const retryable: Array<[string, FaultRule]> = [
  [
    '429 TooManyRequests (Retry-After 1) twice on the Deployment apply',
    { ...PATCH_DEPLOYMENT, fault: status(429, 'TooManyRequests', 'storage is (re)initializing', 1), times: 2 },
  ],
  [
    '500 InternalError on the Service apply, after the Deployment was applied',
    { ...PATCH_SERVICE, fault: status(500, 'InternalError', 'Internal error occurred: etcdserver: leader changed') },
  ],
  [
    '409 Conflict (object modified) on the Deployment apply',
    {
      ...PATCH_DEPLOYMENT,
      fault: status(
        409,
        'Conflict',
        'Operation cannot be fulfilled on deployments.apps "x": the object has been modified; please apply your changes to the latest version and try again',
      ),
    },
  ],
  [
    '502 with a text body (a load balancer in front) on the Service apply',
    { ...PATCH_SERVICE, fault: { status: 502, text: 'upstream connect error' } },
  ],
  [
    'connection dropped before the Service apply reached the API server',
    { ...PATCH_SERVICE, fault: { drop: 'before' } },
  ],
  [
    'connection dropped after the API server applied the Deployment (answer lost)',
    { ...PATCH_DEPLOYMENT, fault: { drop: 'after' } },
  ],
];

describe('Kubernetes API faults in the middle of a primitive', () => {
  test.each(retryable)('%s: retried, and the primitive succeeds', async (name, rule) => {
    proxy.inject(rule);
    const { workflow, error, ms } = await deploy();
    const faults = proxy.faulted().length;
    results.push(`${name} → ${error ? `FAILED: ${error.message}` : `succeeded after ${faults} fault(s), ${ms} ms`}`);
    expect(error).toBeUndefined();
    expect(faults).toBe(rule.times ?? 1);
    expect(await deployed(workflow)).toHaveLength(3);
  });

  test('a dropped connection on a sensor read is retried', async () => {
    const ref = { app: 'faults', workflow: 'w1' };
    proxy.inject({ method: 'GET', path: /\/deployments\?/, fault: { drop: 'before' } });
    const replicas = await platform.readyReplicas(ref);
    results.push(
      `connection dropped on the Deployment list of readyReplicas → ${replicas.length} service(s) read after 1 fault`,
    );
    expect(proxy.faulted()).toHaveLength(1);
    expect(replicas.map((r) => r.service)).toEqual(['model']);
  });

  const fatal: Array<[string, FaultRule, string]> = [
    [
      '422 Invalid',
      {
        ...PATCH_DEPLOYMENT,
        fault: status(
          422,
          'Invalid',
          'Deployment.apps "x" is invalid: spec.template.spec.containers[0].image: Required value',
        ),
      },
      'KubernetesInvalid',
    ],
    [
      '409 AlreadyExists',
      { ...PATCH_DEPLOYMENT, fault: status(409, 'AlreadyExists', 'deployments.apps "x" already exists') },
      'KubernetesAlreadyExists',
    ],
    [
      '403 Forbidden',
      {
        ...PATCH_SERVICE,
        fault: status(403, 'Forbidden', 'services "x" is forbidden: User "u" cannot patch resource "services"'),
      },
      'KubernetesForbidden',
    ],
  ];
  test.each(fatal)('%s: not retried, reported non-retryable with the API message', async (name, rule, type) => {
    proxy.inject({ ...rule, times: 100 });
    const { error } = await deploy();
    const message = (rule.fault as { message: string }).message;
    results.push(
      `${name} → ${error ? `${error.type}, nonRetryable ${error.nonRetryable}, attempts ${proxy.faulted().length}` : 'SUCCEEDED'}`,
    );
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error!.type).toBe(type);
    expect(error!.nonRetryable).toBe(true);
    expect(error!.message).toContain(message);
    expect(proxy.faulted()).toHaveLength(1);
  });

  test('a 500 that does not clear ends, after a few attempts, as a retryable failure with the API message', async () => {
    proxy.inject({
      ...PATCH_DEPLOYMENT,
      fault: status(500, 'InternalError', 'Internal error occurred: etcdserver: request timed out'),
      times: 100,
    });
    const { error, ms } = await deploy();
    const attempts = proxy.faulted().length;
    results.push(
      `500 that does not clear → ${error?.type}, nonRetryable ${error?.nonRetryable}, ${attempts} attempts in ${ms} ms`,
    );
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error!.nonRetryable).toBe(false);
    expect(error!.message).toContain('etcdserver: request timed out');
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThanOrEqual(5);
    expect(ms).toBeLessThan(20_000);
  });
});
