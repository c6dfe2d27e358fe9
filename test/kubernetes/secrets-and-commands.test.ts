/**
 * Secrets travel by reference only (a Secret name and key in the spec, secretKeyRef in the pod),
 * and the local platform runs only images its worker maps to entry points: a spec's `command`
 * (a program on the worker host) is refused with a message saying what is allowed.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { deploymentOf, jobOf } from '../../src/platform/kubernetes/manifests.js';
import { LocalPlatform } from '../../src/platform/local/local-platform.js';
import type { ServiceSpec } from '../../src/platform/types.js';

const ref = { app: 'mnist', workflow: 'serving' };
type PodOwner = {
  spec: {
    template: {
      spec: {
        automountServiceAccountToken: boolean;
        containers: Array<{ env: unknown[]; securityContext: Record<string, unknown> }>;
      };
    };
  };
};
const s3Refs = {
  SCANFLOW_S3_ACCESS_KEY: { secret: 'scanflow-s3', key: 'access-key' },
  SCANFLOW_S3_SECRET_KEY: { secret: 'scanflow-s3', key: 'secret-key' },
};

describe('secrets by reference in generated pods', () => {
  it('writes secretKeyRef, never a value, for secretEnv', () => {
    const spec: ServiceSpec = {
      name: 'model',
      image: 'm:1',
      port: 8080,
      replicas: 1,
      env: { SCANFLOW_MODEL: 'mnist' },
      secretEnv: s3Refs,
    };
    const pod = (deploymentOf(ref, 'ns', spec, 'service') as unknown as PodOwner).spec.template.spec;
    expect(pod.containers[0]!.env).toEqual([
      { name: 'SCANFLOW_MODEL', value: 'mnist' },
      { name: 'SCANFLOW_S3_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'scanflow-s3', key: 'access-key' } } },
      { name: 'SCANFLOW_S3_SECRET_KEY', valueFrom: { secretKeyRef: { name: 'scanflow-s3', key: 'secret-key' } } },
    ]);
    expect(pod.automountServiceAccountToken).toBe(false);
    const job = (
      jobOf(ref, 'ns', 'r1', { name: 'fit', image: 'x:1', kubernetesApiAccess: true }) as unknown as PodOwner
    ).spec.template.spec;
    expect(job.automountServiceAccountToken).toBe(true);
    expect(job.containers[0]!.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false });
  });
});

describe('what the local platform runs on the worker host', () => {
  const platform = (opts: { allowCommands?: boolean } = {}) =>
    new LocalPlatform({
      workDir: mkdtempSync(join(tmpdir(), 'scanflow-policy-')),
      images: { 'scanflow/model-server': [process.execPath, 'src/serving/main.ts'] },
      allowCommands: opts.allowCommands ?? false,
      secrets: { 'scanflow-s3': { 'access-key': 'ak' } },
    });

  it.each<[string, ServiceSpec, RegExp]>([
    [
      'a command from the spec',
      { name: 'evil', image: 'anything', command: ['/bin/sh', '-c', 'id > /tmp/pwned'], port: 8080, replicas: 1 },
      /services\[0\] \('evil'\)\.command: the local platform does not run commands from a spec .*known: scanflow\/model-server; add more with SCANFLOW_LOCAL_IMAGES/,
    ],
    [
      'an image the worker does not map',
      { name: 'other', image: 'busybox:1', port: 8080, replicas: 1 },
      /services\[0\] \('other'\)\.image "busybox:1" is not an image this worker runs/,
    ],
    [
      'a secret the worker does not hold',
      { name: 'model', image: 'scanflow/model-server:0.1.0', port: 8080, replicas: 1, secretEnv: s3Refs },
      /secretEnv\.SCANFLOW_S3_SECRET_KEY: no secret 'scanflow-s3' with key 'secret-key'/,
    ],
  ])('refuses %s before starting anything', async (_name, service, message) => {
    const err = (await platform()
      .deployWorkflow({ ...ref, services: [service] })
      .catch((e: unknown) => e)) as ApplicationFailure;
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.type).toBe('InvalidSpec');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(message);
  });
});
