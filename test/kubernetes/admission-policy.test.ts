/**
 * deploy/rbac/admission-policy.yaml against the harness's real kube-apiserver (admission runs in
 * the API server, so KWOK's fake nodes change nothing): installed the way an operator does
 * (`kubectl apply -k` of an overlay naming the namespace), every way a pod can reference a Secret
 * other than scanflow-s3, or run as another ServiceAccount, is refused with a message naming it;
 * pods and workloads that use only scanflow-s3 are admitted; a namespace without the label is not
 * affected; the platform worker's own primitive (ServiceAccount token) gets the refusal as a
 * non-retryable error carrying the API server's message.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { KubernetesObjectApi, type KubernetesObject, type V1PodSpec } from '@kubernetes/client-node';
import { binaryPath } from '../../src/stack/binaries.js';
import { KubernetesPlatform } from '../../src/platform/kubernetes/adapter.js';
import { freshNamespace, testCluster, waitFor } from './cluster.js';
import { rbacOverlay, serviceAccountKubeconfig } from './rbac-support.js';

const c = testCluster();
const POLICY = 'scanflow-allowed-secrets';

function kubectl(args: string[]): string {
  return execFileSync(binaryPath('kubectl'), ['--kubeconfig', c.kubeconfigPath, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** `kubectl apply -k` of an overlay whose only content is the namespace, over deploy/rbac. */
function installRbac(namespace: string): void {
  kubectl(['apply', '-k', rbacOverlay(namespace)]);
}

/** A pod spec Pod Security `restricted` admits, so only the Secret policy can refuse it. */
function podSpec(extra: Partial<V1PodSpec> = {}, env: V1PodSpec['containers'][number]['env'] = []): V1PodSpec {
  return {
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'main',
        image: 'scanflow/model-server:0.1.0',
        env,
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
    ...extra,
  };
}

const s3Env = [
  { name: 'SCANFLOW_S3_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'scanflow-s3', key: 'access-key' } } },
];
const restrictedContainer = { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } };

function pod(namespace: string, name: string, spec: V1PodSpec): KubernetesObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec } as KubernetesObject;
}

function template(spec: V1PodSpec) {
  return { metadata: { labels: { app: 'x' } }, spec };
}

function workload(namespace: string, kind: string, name: string, spec: V1PodSpec): KubernetesObject {
  const meta = { name, namespace };
  const selector = { matchLabels: { app: 'x' } };
  switch (kind) {
    case 'Deployment':
      return {
        apiVersion: 'apps/v1',
        kind,
        metadata: meta,
        spec: { selector, template: template(spec) },
      } as KubernetesObject;
    case 'Job':
      return {
        apiVersion: 'batch/v1',
        kind,
        metadata: meta,
        spec: { template: template({ ...spec, restartPolicy: 'Never' }) },
      } as KubernetesObject;
    case 'CronJob':
      return {
        apiVersion: 'batch/v1',
        kind,
        metadata: meta,
        spec: {
          schedule: '0 0 * * *',
          jobTemplate: { spec: { template: template({ ...spec, restartPolicy: 'Never' }) } },
        },
      } as KubernetesObject;
    default:
      throw new Error(`no template for ${kind}`);
  }
}

/** Creates `obj` for real (no dry run); resolves to the API server's refusal, or undefined when admitted. */
async function create(obj: KubernetesObject): Promise<{ code: number; message: string } | undefined> {
  try {
    await KubernetesObjectApi.makeApiClient(c.kc).create(obj);
    return undefined;
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    const body =
      typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string });
    return { code: e.code ?? 0, message: body?.message ?? String(err) };
  }
}

let ns = '';
const messages: string[] = [];
let free = '';

beforeAll(async () => {
  ns = await freshNamespace(c, 'admission');
  free = await freshNamespace(c, 'admission-free');
  installRbac(ns);
  // A ServiceAccount that exists (else the ServiceAccount admission plugin refuses first).
  await c.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'admin-bot' } } });
  // Policies reach the API server's admission plugin asynchronously: wait until a bad pod is refused.
  await waitFor('the admission policy to be in force', async () => {
    const refused = await create(
      pod(ns, `probe-${Date.now()}`, podSpec({ volumes: [{ name: 's', secret: { secretName: 'probe' } }] })),
    );
    return refused?.message.includes(POLICY) ?? false;
  });
}, 120_000);

afterAll(async () => {
  // What an operator sees (printed, not asserted: the assertions are above).
  console.log(`admission refusals (${messages.length}):\n${messages.join('\n')}`);
  for (const name of [ns, free].filter(Boolean)) await c.core.deleteNamespace({ name }).catch(() => undefined);
});

describe('admission policy: only the allowed Secrets in the scanflow namespace', () => {
  test('the rendered kustomization installs the policy and its binding, selecting the namespace by its label', async () => {
    const namespace = await c.core.readNamespace({ name: ns });
    expect(namespace.metadata?.labels?.['scanflow.dev/secret-policy']).toBe('enforce');
    const binding = JSON.parse(kubectl(['get', 'validatingadmissionpolicybinding', POLICY, '-o', 'json'])) as {
      spec: { policyName: string; validationActions: string[] };
    };
    expect(binding.spec).toMatchObject({ policyName: POLICY, validationActions: ['Deny'] });
    // The policy's expressions compile against the real types (no type-checking warnings).
    const policy = JSON.parse(kubectl(['get', 'validatingadmissionpolicy', POLICY, '-o', 'json'])) as {
      status?: { typeChecking?: { expressionWarnings?: Array<{ fieldRef: string; warning: string }> } };
    };
    expect(policy.status?.typeChecking?.expressionWarnings ?? []).toEqual([]);
  });

  const refusals: Array<[string, (name: string) => KubernetesObject, RegExp]> = [
    [
      'a secret volume',
      (n) => pod(ns, n, podSpec({ volumes: [{ name: 'creds', secret: { secretName: 'db-password' } }] })),
      /secret volume mounts Secret db-password/,
    ],
    [
      'a projected volume with a Secret',
      (n) =>
        pod(
          ns,
          n,
          podSpec({
            volumes: [
              {
                name: 'bundle',
                projected: { sources: [{ configMap: { name: 'cm' } }, { secret: { name: 'db-password' } }] },
              },
            ],
          }),
        ),
      /projected volume bundle includes a Secret other than scanflow-s3/,
    ],
    [
      'a CSI volume with a node-publish Secret',
      (n) =>
        pod(
          ns,
          n,
          podSpec({
            volumes: [{ name: 'csi', csi: { driver: 'x.csi.io', nodePublishSecretRef: { name: 'csi-creds' } } }],
          }),
        ),
      /CSI volume references Secret csi-creds/,
    ],
    [
      'env from secretKeyRef',
      (n) => pod(ns, n, podSpec({}, [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db-password', key: 'p' } } }])),
      /container main takes env from a Secret \(secretKeyRef\) other than scanflow-s3/,
    ],
    [
      'envFrom secretRef',
      (n) => {
        const spec = podSpec();
        spec.containers[0]!.envFrom = [{ secretRef: { name: 'db-password' } }];
        return pod(ns, n, spec);
      },
      /container main imports a Secret \(envFrom secretRef\) other than scanflow-s3/,
    ],
    [
      'an init container with secretKeyRef',
      (n) =>
        pod(
          ns,
          n,
          podSpec({
            initContainers: [
              {
                name: 'init',
                image: 'busybox',
                env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'other-token', key: 't' } } }],
                ...restrictedContainer,
              },
            ],
          }),
        ),
      /container init takes env from a Secret/,
    ],
    [
      'imagePullSecrets',
      (n) => pod(ns, n, podSpec({ imagePullSecrets: [{ name: 'registry-creds' }] })),
      /imagePullSecrets names Secret registry-creds/,
    ],
    [
      'another ServiceAccount',
      (n) => pod(ns, n, podSpec({ serviceAccountName: 'admin-bot' })),
      /runs as ServiceAccount admin-bot; pods in this namespace may run only as default, scanflow-platform/,
    ],
    [
      'a Deployment whose template mounts another Secret',
      (n) =>
        workload(ns, 'Deployment', n, podSpec({ volumes: [{ name: 's', secret: { secretName: 'db-password' } }] })),
      /^.*Deployment .*secret volume mounts Secret db-password/,
    ],
    [
      'a Job whose template reads another Secret',
      (n) =>
        workload(
          ns,
          'Job',
          n,
          podSpec({}, [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db-password', key: 'p' } } }]),
        ),
      /Job .*takes env from a Secret/,
    ],
    [
      'a CronJob whose job template mounts another Secret',
      (n) => workload(ns, 'CronJob', n, podSpec({ volumes: [{ name: 's', secret: { secretName: 'db-password' } }] })),
      /CronJob .*secret volume mounts Secret db-password/,
    ],
  ];

  test.each(refusals)('refuses %s, naming it', async (_what, make, message) => {
    const refused = await create(make(`bad-${Math.random().toString(36).slice(2, 8)}`));
    expect(refused).toBeDefined();
    expect(refused!.code).toBe(403);
    expect(refused!.message).toContain(`ValidatingAdmissionPolicy '${POLICY}'`);
    expect(refused!.message).toMatch(message);
    messages.push(refused!.message);
  });

  test('admits pods and workloads that use only scanflow-s3 and the default ServiceAccount', async () => {
    const allowed = podSpec({ volumes: [{ name: 's3', secret: { secretName: 'scanflow-s3' } }] }, s3Env);
    expect(await create(pod(ns, 'good-pod', allowed))).toBeUndefined();
    expect(await create(workload(ns, 'Deployment', 'good-deploy', allowed))).toBeUndefined();
    expect(await create(workload(ns, 'Job', 'good-job', allowed))).toBeUndefined();
    expect(await create(pod(ns, 'no-secrets', podSpec()))).toBeUndefined();
    // The Deployment's ReplicaSet and its generateName pod pass admission too (the pod exists).
    await waitFor('the good Deployment to create its pod', async () => {
      const pods = await c.core.listNamespacedPod({ namespace: ns });
      return pods.items.some((p) => p.metadata?.name?.startsWith('good-deploy-'));
    });
  });

  test('a namespace without the label is not affected', async () => {
    const spec = podSpec({ volumes: [{ name: 'creds', secret: { secretName: 'db-password' } }] });
    expect(await create(pod(free, 'elsewhere', spec))).toBeUndefined();
  });

  test('the platform worker (its ServiceAccount token) gets the refusal as a non-retryable error with the message', async () => {
    const kubeconfigPath = await serviceAccountKubeconfig(c, ns);
    const p = new KubernetesPlatform({ kubeconfigPath, namespace: ns });
    const ref = { app: 'mnist', workflow: 'serving' };
    // The model server with the S3 references is deployed...
    await p.deployWorkflow({
      ...ref,
      services: [
        {
          name: 'model',
          image: 'scanflow/model-server:0.1.0',
          port: 8080,
          replicas: 1,
          secretEnv: { SCANFLOW_S3_ACCESS_KEY: { secret: 'scanflow-s3', key: 'access-key' } },
        },
      ],
    });
    // ...a spec that asks for another Secret of the namespace is refused at the Deployment.
    const err = await p
      .applyWorkflowInstance(ref, {
        name: 'thief',
        image: 'scanflow/model-server:0.1.0',
        port: 8080,
        replicas: 1,
        secretEnv: { STOLEN: { secret: 'scanflow-admin', key: 'token' } },
      })
      .then(
        () => undefined,
        (e: unknown) => e as { message?: string; nonRetryable?: boolean },
      );
    expect(err).toBeDefined();
    expect(err!.nonRetryable).toBe(true);
    expect(err!.message).toMatch(/scanflow-allowed-secrets/);
    expect(err!.message).toMatch(/takes env from a Secret \(secretKeyRef\) other than scanflow-s3/);
  });
});
