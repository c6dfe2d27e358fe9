/**
 * What the experiments do to the cluster beside the platform primitives: mount the model store
 * into a Deployment the platform generated (a hostPath volume applied under its own field manager,
 * so the primitives' fields stay theirs), count ready replicas, wait, read a pod's log.
 */
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { CONTAINER } from '../../../platform/kubernetes/manifests.js';
import { FIELD_MANAGER, NamespacedObjects } from '../../../platform/kubernetes/objects.js';
import { loadKubeConfig, makeClients } from '../../../platform/kubernetes/client.js';
import { componentLabels, selectorOf, serviceObjectName } from '../../../platform/names.js';
import type { WorkflowRef } from '../../../platform/types.js';
import { waitFor as waitForValue } from '../../../stack/wait.js';

/** Where the pods see the model store. */
export const STORE_MOUNT = '/store';

export async function mountStore(
  kubeconfig: string,
  namespace: string,
  ref: WorkflowRef,
  service: string,
  dir: string,
): Promise<void> {
  const objects = new NamespacedObjects(namespace, makeClients(loadKubeConfig(kubeconfig)));
  await objects.apply(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: serviceObjectName(ref, service), namespace },
      spec: {
        template: {
          spec: {
            volumes: [{ name: 'store', hostPath: { path: dir, type: 'Directory' } }],
            containers: [
              { name: CONTAINER, volumeMounts: [{ name: 'store', mountPath: STORE_MOUNT, readOnly: true }] },
            ],
          },
        },
      },
    },
    `${FIELD_MANAGER}-mlperf-store`,
  );
}

export const podReady = (p: V1Pod): boolean =>
  p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false;

/** The live pods of one service and how many are Ready. */
export async function servicePods(
  core: CoreV1Api,
  namespace: string,
  ref: WorkflowRef,
  service: string,
): Promise<{ pods: V1Pod[]; ready: number }> {
  const list = await core.listNamespacedPod({ namespace, labelSelector: selectorOf(componentLabels(ref, service)) });
  const pods = list.items.filter((p) => !p.metadata?.deletionTimestamp);
  return { pods, ready: pods.filter(podReady).length };
}

/** src/stack/wait.ts's waitFor, polling every 500 ms (the experiments' API reads). */
export function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | false | undefined>,
  intervalMs = 500,
): Promise<T> {
  return waitForValue(what, timeoutMs, probe, intervalMs);
}

/** Waits until a service has `count` Ready pods and no other live ones (a rollout finished). */
export async function waitServiceReady(
  core: CoreV1Api,
  namespace: string,
  ref: WorkflowRef,
  service: string,
  count: number,
  timeoutMs = 240_000,
): Promise<V1Pod[]> {
  return waitFor(`${count} Ready pod(s) of ${ref.workflow}/${service}`, timeoutMs, async () => {
    const { pods, ready } = await servicePods(core, namespace, ref, service);
    return ready >= count && pods.length === ready ? pods : undefined;
  });
}

/** Events and container states of a namespace, for an error message. */
export async function describeNamespace(core: CoreV1Api, namespace: string): Promise<string> {
  const pods = await core.listNamespacedPod({ namespace });
  const events = await core.listNamespacedEvent({ namespace });
  return [
    ...pods.items.map(
      (p) =>
        `${p.metadata?.name} on ${p.spec?.nodeName}: ${p.status?.phase} ${JSON.stringify(p.status?.containerStatuses?.map((s) => s.state))}`,
    ),
    ...events.items.slice(-30).map((e) => `${e.involvedObject.name}: ${e.reason} ${e.message}`),
  ].join('\n');
}
