/**
 * The autoscaling experiment's hold on the model server's autoscaler, with one set of API clients
 * per experiment (the trace reads the HPA every 2 s):
 *
 *   - the scale-down stabilisation window: on the HPA itself (hpa-cpu), or on the ScaledObject's
 *     own field for the HPA KEDA owns (keda-qps; KEDA would revert a patch of that HPA). Written
 *     with the experiment's field manager, so the platform's and the tuner's later applies (their
 *     own manager, other fields) keep it;
 *   - the threshold in effect (CPU %, or KEDA's queries/s per replica on the HPA it owns,
 *     keda-hpa-<name>) and the replicas the HPA wants.
 */
import { AutoscalingV2Api } from '@kubernetes/client-node';
import type { TunedAutoscaler } from '../decisions.js';
import { loadKubeConfig, makeClients } from '../../../platform/kubernetes/client.js';
import { quantityValue } from '../../../platform/kubernetes/control-plane/quantity.js';
import type { Obj } from '../../../platform/kubernetes/manifests.js';
import { FIELD_MANAGER, NamespacedObjects } from '../../../platform/kubernetes/objects.js';

export const EXPERIMENT_FIELD_MANAGER = `${FIELD_MANAGER}-mlperf-experiment`;

export interface HpaReading {
  threshold: number;
  desired: number;
}

export class ServiceAutoscaler {
  private readonly objects: NamespacedObjects;
  private readonly hpas: AutoscalingV2Api;

  /** `name`: the service's Deployment (the HPA's and the ScaledObject's name). */
  constructor(
    env: { kubeconfig: string; namespace: string },
    readonly name: string,
  ) {
    const kc = loadKubeConfig(env.kubeconfig);
    this.objects = new NamespacedObjects(env.namespace, makeClients(kc));
    this.hpas = kc.makeApiClient(AutoscalingV2Api);
  }

  /** The HPA's scale-down stabilisation window, through the object that owns it. */
  async setScaleDownWindow(autoscaler: TunedAutoscaler, seconds: number): Promise<void> {
    const behavior = { scaleDown: { stabilizationWindowSeconds: seconds } };
    const metadata = { name: this.name, namespace: this.objects.namespace };
    const object: Obj =
      autoscaler === 'keda-qps'
        ? {
            apiVersion: 'keda.sh/v1alpha1',
            kind: 'ScaledObject',
            metadata,
            // scaleTargetRef: required by the CRD; the same value as the platform's.
            spec: { scaleTargetRef: { name: this.name }, advanced: { horizontalPodAutoscalerConfig: { behavior } } },
          }
        : { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata, spec: { behavior } };
    await this.objects.apply(object, EXPERIMENT_FIELD_MANAGER);
  }

  /** The HPA's threshold in effect and its desired replicas (0 before its first sync). */
  async read(autoscaler: TunedAutoscaler): Promise<HpaReading> {
    const h = await this.hpas.readNamespacedHorizontalPodAutoscaler({
      name: autoscaler === 'keda-qps' ? `keda-hpa-${this.name}` : this.name,
      namespace: this.objects.namespace,
    });
    const metric = h.spec?.metrics?.[0];
    // KEDA writes its threshold as the external metric's AverageValue quantity ("6667m").
    const average = metric?.external?.target?.averageValue;
    return {
      threshold:
        autoscaler === 'keda-qps'
          ? average === undefined
            ? 0
            : Math.round(quantityValue(String(average), `HPA keda-hpa-${this.name} averageValue`) * 100) / 100
          : (metric?.resource?.target?.averageUtilization ?? 0),
      desired: h.status?.desiredReplicas ?? 0,
    };
  }
}
