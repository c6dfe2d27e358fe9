/**
 * What the suites of deploy/rbac share (rbac.test.ts, admission-policy.test.ts): the overlay an
 * administrator would write to install deploy/rbac in a namespace, and a kubeconfig that
 * authenticates as the platform's ServiceAccount with a token from the TokenRequest API.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { requireEnv } from '../harness/env.js';
import type { TestCluster } from './cluster.js';

const rbacDir = fileURLToPath(new URL('../../deploy/rbac', import.meta.url));

/** The ServiceAccount deploy/rbac creates for the platform worker. */
export const PLATFORM_SERVICE_ACCOUNT = 'scanflow-platform';

/** A kustomize overlay directory whose only content is `namespace: <namespace>` over deploy/rbac. */
export function rbacOverlay(namespace: string): string {
  const overlay = mkdtempSync(join(tmpdir(), 'scanflow-rbac-overlay-'));
  writeFileSync(
    join(overlay, 'kustomization.yaml'),
    `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ${namespace}\nresources:\n  - ${relative(overlay, rbacDir)}\n`,
  );
  return overlay;
}

/** A kubeconfig file (under SCANFLOW_TEST_DIR) for the platform's ServiceAccount in `namespace`, for an hour. */
export async function serviceAccountKubeconfig(c: TestCluster, namespace: string): Promise<string> {
  const req = await c.core.createNamespacedServiceAccountToken({
    name: PLATFORM_SERVICE_ACCOUNT,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = req.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${PLATFORM_SERVICE_ACCOUNT} returned no token`);
  const cluster = c.kc.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: cluster.server, caData: cluster.caData, skipTLSVerify: false }],
    users: [{ name: PLATFORM_SERVICE_ACCOUNT, token }],
    contexts: [{ name: 'sa', cluster: 'test', user: PLATFORM_SERVICE_ACCOUNT, namespace }],
    currentContext: 'sa',
  });
  const path = join(requireEnv('SCANFLOW_TEST_DIR'), `kubeconfig-sa-${namespace}`);
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
  return path;
}
