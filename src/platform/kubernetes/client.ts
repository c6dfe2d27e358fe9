/** API clients for one kubeconfig (a file, or the default: in-cluster / ~/.kube/config). */
import { AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';

export interface KubeClients {
  kc: KubeConfig;
  objects: KubernetesObjectApi;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
}

export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromDefault();
  return kc;
}

export function makeClients(kc: KubeConfig): KubeClients {
  return {
    kc,
    objects: KubernetesObjectApi.makeApiClient(kc),
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
  };
}
