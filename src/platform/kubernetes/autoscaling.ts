/**
 * updateWorkflowReplica on a cluster: changes min/max replicas and the scaling threshold of the
 * autoscaler a service was deployed with, a KEDA ScaledObject (Prometheus trigger threshold) or
 * an HPA (CPU utilisation target). The current object is read and re-applied whole, so fields
 * the change does not name keep their deployed values.
 */
import type { AutoscalingUpdate, WorkflowRef } from '../types.js';
import { invalidSpec } from '../errors.js';
import { checkRef, componentLabels, serviceObjectName } from '../names.js';
import { validateAutoscalingUpdate } from '../validate.js';
import type { NamespacedObjects } from './objects.js';

export class Autoscalers {
  constructor(private readonly objects: NamespacedObjects) {}

  async update(ref: WorkflowRef, service: string, change: AutoscalingUpdate): Promise<void> {
    checkRef(ref);
    validateAutoscalingUpdate(change);
    const name = serviceObjectName(ref, service);
    const so = await this.objects.readOptional('keda.sh/v1alpha1', 'ScaledObject', name);
    const hpa = so ? undefined : await this.objects.readOptional('autoscaling/v2', 'HorizontalPodAutoscaler', name);
    const current = (so ?? hpa)?.spec as Record<string, unknown> | undefined;
    if (!current)
      throw invalidSpec(
        `updateWorkflowReplica: service '${service}' of ${ref.app}/${ref.workflow} has no autoscaler (ScaledObject or HPA ${this.objects.namespace}/${name}); deploy it with autoscaling first`,
      );
    const metadata = { name, namespace: this.objects.namespace, labels: componentLabels(ref, service) };
    if (so) {
      const triggers = structuredClone(current.triggers as Array<{ metadata: Record<string, string> }>);
      if (change.threshold !== undefined) triggers[0]!.metadata.threshold = String(change.threshold);
      const min = change.minReplicas ?? (current.minReplicaCount as number);
      const max = change.maxReplicas ?? (current.maxReplicaCount as number);
      if (min > max) throw invalidSpec(`updateWorkflowReplica: minReplicas ${min} > maxReplicas ${max}`);
      await this.objects.apply({
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata,
        spec: { ...current, minReplicaCount: min, maxReplicaCount: max, triggers },
      });
      return;
    }
    const min = change.minReplicas ?? (current.minReplicas as number);
    const max = change.maxReplicas ?? (current.maxReplicas as number);
    if (min > max || min < 1)
      throw invalidSpec(`updateWorkflowReplica: need 1 <= minReplicas (${min}) <= maxReplicas (${max}) for an HPA`);
    const metrics =
      change.threshold !== undefined
        ? [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: change.threshold } },
            },
          ]
        : current.metrics;
    await this.objects.apply({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata,
      spec: { scaleTargetRef: current.scaleTargetRef, minReplicas: min, maxReplicas: max, metrics },
    });
  }
}
