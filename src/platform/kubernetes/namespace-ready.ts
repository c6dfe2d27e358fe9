/**
 * A namespace is usable for pods only once kube-controller-manager has created its `default`
 * ServiceAccount (the API server refuses a pod that names a missing one); every caller that
 * creates a namespace and then deploys into it waits for that here.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { waitFor } from '../../stack/wait.js';

export async function waitForDefaultServiceAccount(
  core: CoreV1Api,
  namespace: string,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(`ServiceAccount default in ${namespace}`, timeoutMs, async () => {
    await core.readNamespacedServiceAccount({ name: 'default', namespace });
    return true;
  });
}
