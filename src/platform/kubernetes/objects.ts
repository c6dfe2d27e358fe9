/**
 * The generic object operations every Kubernetes primitive is built from, bound to one namespace:
 * server-side apply, read, delete, list by label. Each call goes through api-errors.ts, so an API
 * failure reaches Temporal already classified (retryable or not) and saying what was attempted;
 * deletes of absent objects succeed, which makes every delete primitive idempotent.
 */
import { PatchStrategy, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { selectorOf } from '../names.js';
import { ignoreNotFound, kubeCall } from './api-errors.js';
import type { KubeClients } from './client.js';
import type { Obj } from './manifests.js';

/** Field manager of whole objects; a primitive changing one aspect uses `scanflow-<aspect>`. */
export const FIELD_MANAGER = 'scanflow';

export type ReadObject = KubernetesObject & Record<string, unknown>;

export class NamespacedObjects {
  constructor(
    readonly namespace: string,
    readonly clients: KubeClients,
  ) {}

  /** Server-side apply of a (possibly partial) object, forcing ownership of the fields it sets. */
  async apply(obj: Obj, manager = FIELD_MANAGER): Promise<KubernetesObject> {
    return kubeCall(`apply ${obj.kind} ${this.namespace}/${obj.metadata.name}`, () =>
      this.clients.objects.patch(obj, undefined, undefined, manager, true, PatchStrategy.ServerSideApply),
    );
  }

  async read(apiVersion: string, kind: string, name: string): Promise<ReadObject> {
    return kubeCall(`read ${kind} ${this.namespace}/${name}`, () =>
      this.clients.objects.read({ apiVersion, kind, metadata: { name, namespace: this.namespace } }),
    ) as Promise<ReadObject>;
  }

  /** The object, or undefined when it does not exist. */
  async readOptional(apiVersion: string, kind: string, name: string): Promise<ReadObject | undefined> {
    return ignoreNotFound(`read ${kind} ${this.namespace}/${name}`, () =>
      this.clients.objects.read({ apiVersion, kind, metadata: { name, namespace: this.namespace } }),
    ) as Promise<ReadObject | undefined>;
  }

  /** Deletes in the background (dependents such as a Job's pods go with it); absent is fine. */
  async remove(apiVersion: string, kind: string, name: string): Promise<void> {
    await ignoreNotFound(`delete ${kind} ${this.namespace}/${name}`, () =>
      this.clients.objects.delete(
        { apiVersion, kind, metadata: { name, namespace: this.namespace } },
        undefined,
        undefined,
        undefined,
        undefined,
        'Background',
      ),
    );
  }

  async listNames(apiVersion: string, kind: string, labels: Record<string, string>): Promise<string[]> {
    const list = await kubeCall(`list ${kind} in ${this.namespace}`, () =>
      this.clients.objects.list(
        apiVersion,
        kind,
        this.namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        selectorOf(labels),
      ),
    );
    return list.items.map((i) => i.metadata?.name ?? '').filter(Boolean);
  }

  async removeLabelled(apiVersion: string, kind: string, labels: Record<string, string>): Promise<void> {
    for (const name of await this.listNames(apiVersion, kind, labels)) await this.remove(apiVersion, kind, name);
  }

  /** Pods carrying the labels, without those already being deleted. */
  async pods(labels: Record<string, string>): Promise<V1Pod[]> {
    const list = await kubeCall(`list Pods in ${this.namespace}`, () =>
      this.clients.core.listNamespacedPod({ namespace: this.namespace, labelSelector: selectorOf(labels) }),
    );
    return list.items.filter((p) => !p.metadata?.deletionTimestamp);
  }
}
