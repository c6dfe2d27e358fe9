/**
 * Scanflow's worker Deployments (deploy/worker/workers.yaml, the manifest a user applies) adapted
 * to a cluster: the image that runs here, the Temporal frontend the pods reach, and the least-privilege
 * RBAC of deploy/rbac installed in the namespace the way its kustomization says (the namespace
 * transformer binds the Role to that namespace's ServiceAccount). The manifests stay the source of
 * truth: only the fields that differ per cluster are replaced.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
} from '@kubernetes/client-node';
import { binaryPath } from '../../../stack/binaries.js';

const workersManifest = fileURLToPath(new URL('../../../../deploy/worker/workers.yaml', import.meta.url));
const rbacDir = fileURLToPath(new URL('../../../../deploy/rbac', import.meta.url));

/** The Deployments of deploy/worker/workers.yaml, by name. */
export const WORKER_DEPLOYMENTS = {
  platform: 'scanflow-platform-worker',
  ml: 'scanflow-ml-worker',
  agents: 'scanflow-agents-worker',
} as const;

export interface WorkerDeploymentOptions {
  which: keyof typeof WORKER_DEPLOYMENTS;
  namespace: string;
  /** The image reference the nodes hold (imagePullPolicy Never: there is no registry here). */
  image: string;
  temporalAddress: string;
  temporalNamespace?: string;
  replicas?: number;
  /** Environment variables set or replaced (by name). */
  env?: Record<string, string>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

/** One worker Deployment of the manifest, with this cluster's image, Temporal address and env. */
export function workerDeployment(o: WorkerDeploymentOptions): V1Deployment {
  const name = WORKER_DEPLOYMENTS[o.which];
  const docs = loadAllYaml(readFileSync(workersManifest, 'utf8')) as V1Deployment[];
  const d = structuredClone(docs.find((x) => x.metadata?.name === name));
  if (!d) throw new Error(`${workersManifest} has no Deployment named ${name}`);
  d.metadata = { ...d.metadata, namespace: o.namespace };
  if (o.replicas !== undefined) d.spec!.replicas = o.replicas;
  const c = d.spec!.template.spec!.containers[0]!;
  c.image = o.image;
  c.imagePullPolicy = 'Never';
  const env = {
    TEMPORAL_ADDRESS: o.temporalAddress,
    TEMPORAL_NAMESPACE: o.temporalNamespace ?? 'default',
    ...o.env,
  };
  const list = (c.env ?? []).filter((e) => !(e.name in env));
  c.env = [...list, ...Object.entries(env).map(([k, value]) => ({ name: k, value }))];
  if (o.resources) c.resources = o.resources;
  return d;
}

/**
 * deploy/rbac in `namespace`, as an administrator installs it: an overlay whose only content is
 * `namespace: <namespace>`, rendered by kustomize (kubectl kustomize) and applied. The Namespace
 * object of deploy/rbac labels the namespace Pod Security `restricted`.
 */
export function renderPlatformRbac(namespace: string): KubernetesObject[] {
  const overlay = mkdtempSync(join(tmpdir(), 'scanflow-rbac-overlay-'));
  try {
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ${namespace}\nresources:\n  - ${relative(overlay, rbacDir)}\n`,
    );
    const rendered = execFileSync(binaryPath('kubectl'), ['kustomize', overlay], { encoding: 'utf8' });
    return loadAllYaml(rendered) as KubernetesObject[];
  } finally {
    rmSync(overlay, { recursive: true, force: true });
  }
}

/** Server-side applies objects as an administrator (field manager `scanflow-install`). */
export async function applyObjects(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const o of objects)
    await api.patch(o, undefined, undefined, 'scanflow-install', true, PatchStrategy.ServerSideApply);
}
