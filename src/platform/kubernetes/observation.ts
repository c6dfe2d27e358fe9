/**
 * The sensors: what the cluster says about a workflow, read from Deployment status and pods, in
 * a stable order (sorted by name) so an agent comparing two readings sees only real changes.
 */
import { LABEL_COMPONENT, type PodPlacement, type ReplicaStatus, type WorkflowRef } from '../types.js';
import { checkRef, componentLabels, selectorOf, workflowLabels } from '../names.js';
import type { ServiceEnvReading } from '../service-env.js';
import { invalidSpec } from '../errors.js';
import { kubeCall } from './api-errors.js';
import type { NamespacedObjects } from './objects.js';

export class Observation {
  constructor(private readonly objects: NamespacedObjects) {}

  async readyReplicas(ref: WorkflowRef): Promise<ReplicaStatus[]> {
    checkRef(ref);
    const list = await kubeCall(`list Deployments of ${ref.workflow}`, () =>
      this.objects.clients.apps.listNamespacedDeployment({
        namespace: this.objects.namespace,
        labelSelector: selectorOf(workflowLabels(ref)),
      }),
    );
    return list.items
      .map((d) => ({
        service: d.metadata?.labels?.[LABEL_COMPONENT] ?? d.metadata?.name ?? '',
        desired: d.spec?.replicas ?? 0,
        ready: d.status?.readyReplicas ?? 0,
        available: d.status?.availableReplicas ?? 0,
        updated: d.status?.updatedReplicas ?? 0,
      }))
      .sort((a, b) => a.service.localeCompare(b.service));
  }

  /** The service's plain env in its Deployment's pod template and in each of its live pods. */
  async serviceEnv(ref: WorkflowRef, service: string): Promise<ServiceEnvReading> {
    checkRef(ref);
    const labels = componentLabels(ref, service);
    const list = await kubeCall(`list the Deployment of ${ref.workflow}/${service}`, () =>
      this.objects.clients.apps.listNamespacedDeployment({
        namespace: this.objects.namespace,
        labelSelector: selectorOf(labels),
      }),
    );
    const plain = (env: Array<{ name: string; value?: string }> | undefined): Record<string, string> =>
      Object.fromEntries((env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
    const deployment = list.items[0];
    if (!deployment)
      throw invalidSpec(
        `service '${service}' of online workflow ${ref.app}/${ref.workflow} has no Deployment in ${this.objects.namespace}`,
      );
    const pods = await this.objects.pods(labels);
    return {
      service,
      desired: plain(deployment.spec?.template?.spec?.containers?.[0]?.env),
      replicas: pods
        .map((p) => ({
          name: p.metadata?.name ?? '',
          ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
          env: plain(p.spec?.containers?.[0]?.env),
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    };
  }

  /** Every pod of the workflow (services and batch steps) with its node: where things landed. */
  async podPlacement(ref: WorkflowRef): Promise<PodPlacement[]> {
    checkRef(ref);
    const pods = await this.objects.pods(workflowLabels(ref));
    return pods
      .map((p) => ({
        pod: p.metadata?.name ?? '',
        component: p.metadata?.labels?.[LABEL_COMPONENT] ?? '',
        node: p.spec?.nodeName ?? '',
        phase: p.status?.phase ?? 'Unknown',
        ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
        image: p.spec?.containers?.[0]?.image ?? '',
      }))
      .sort((a, b) => a.pod.localeCompare(b.pod));
  }
}
