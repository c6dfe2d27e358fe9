/** Shared helpers for the Kubernetes tests: admin clients, a fresh namespace, polling. */
import { waitFor as waitForValue } from '../../src/stack/wait.js';
import { AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { requireEnv } from '../harness/env.js';
import { KubernetesPlatform } from '../../src/platform/kubernetes/adapter.js';
import { waitForDefaultServiceAccount } from '../../src/platform/kubernetes/namespace-ready.js';

export interface TestCluster {
  kubeconfigPath: string;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
}

export function testCluster(): TestCluster {
  const kubeconfigPath = requireEnv('SCANFLOW_TEST_KUBECONFIG');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    kubeconfigPath,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
  };
}

let n = 0;
/** A namespace of its own per test, so tests never see each other's objects. */
export async function freshNamespace(c: TestCluster, prefix: string): Promise<string> {
  n += 1;
  const name = `${prefix}-${process.pid}-${n}`;
  await c.core.createNamespace({ body: { metadata: { name } } });
  await waitForDefaultServiceAccount(c.core, name);
  return name;
}

export function adminPlatform(c: TestCluster, namespace: string): KubernetesPlatform {
  return new KubernetesPlatform({ kubeconfigPath: c.kubeconfigPath, namespace });
}

/** waitFor of src/stack/wait.ts with this file's argument order (the platform suites' callers). */
export function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  return waitForValue(what, timeoutMs, check);
}
