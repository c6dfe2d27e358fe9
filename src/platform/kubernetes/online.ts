/**
 * The online-workflow primitives on a cluster: each service is a Deployment + Service (+ its
 * autoscaler), deployed whole by the "scanflow" field manager. A primitive that changes one aspect
 * of a running service (image/env, affinity, resources, replica count) applies only those fields
 * under its own manager (`scanflow-upgrade`, …) with force, so it never drops fields the deploy set
 * and a repeat is a no-op; the Deployment's rolling update does the rest.
 */
import type {
  AffinitySpec,
  ContainerUpgrade,
  OnlineWorkflowSpec,
  ResourceSpec,
  ServiceSpec,
  TrafficSpec,
  WorkflowRef,
} from '../types.js';
import { checkRef, serviceObjectName, workflowLabels } from '../names.js';
import {
  validateOnline,
  validateReplicaCount,
  validateResources,
  validateService,
  validateUpgrade,
  type CheckedUpgrade,
} from '../validate.js';
import {
  autoscalerOf,
  CONTAINER,
  deploymentOf,
  envList,
  onlineServices,
  placementOf,
  resourcesOf,
  serviceOf,
  type Obj,
} from './manifests.js';
import { FIELD_MANAGER, type NamespacedObjects } from './objects.js';
import type { TrafficRouting } from './traffic.js';

/** Kinds an online workflow may own, for label-selected deletes. */
const ONLINE_KINDS: Array<[apiVersion: string, kind: string]> = [
  ['networking.istio.io/v1', 'VirtualService'],
  ['networking.istio.io/v1', 'DestinationRule'],
  ['keda.sh/v1alpha1', 'ScaledObject'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler'],
  ['v1', 'Service'],
  ['apps/v1', 'Deployment'],
];

export class OnlineWorkflows {
  constructor(
    private readonly objects: NamespacedObjects,
    private readonly traffic: TrafficRouting,
  ) {}

  async deploy(spec: OnlineWorkflowSpec): Promise<void> {
    validateOnline(spec);
    const services = onlineServices(spec);
    for (const { service, role } of services) await this.applyService(spec, service, role);
    const traffic: TrafficSpec = spec.traffic ?? { active: spec.services[0]!.name };
    await this.traffic.apply(
      spec,
      traffic,
      services.map((s) => s.service),
    );
  }

  async delete(ref: WorkflowRef): Promise<void> {
    checkRef(ref);
    for (const [apiVersion, kind] of ONLINE_KINDS)
      await this.objects.removeLabelled(apiVersion, kind, workflowLabels(ref));
  }

  async applyInstance(ref: WorkflowRef, service: ServiceSpec): Promise<void> {
    checkRef(ref);
    validateService(service, 'service');
    await this.applyService(ref, service, 'service');
  }

  /** Removes one service's objects; the workflow's traffic objects stay (they name the others too). */
  async deleteInstance(ref: WorkflowRef, service: string): Promise<void> {
    checkRef(ref);
    const name = serviceObjectName(ref, service);
    for (const [apiVersion, kind] of ONLINE_KINDS) {
      if (kind === 'VirtualService' || kind === 'DestinationRule') continue;
      await this.objects.remove(apiVersion, kind, name);
    }
  }

  async setReplicas(ref: WorkflowRef, service: string, replicas: number): Promise<void> {
    validateReplicaCount(replicas, 'duplicateWorkflowInstance: replicas');
    await this.requireDeployment(ref, service);
    await this.objects.apply(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: serviceObjectName(ref, service), namespace: this.objects.namespace },
        spec: { replicas },
      },
      `${FIELD_MANAGER}-replicas`,
    );
  }

  async upgrade(ref: WorkflowRef, service: string, change: ContainerUpgrade): Promise<void> {
    const checked = validateUpgrade(change, 'upgrade');
    await this.requireDeployment(ref, service);
    await this.objects.apply(
      this.deploymentPatch(ref, service, { containers: [upgradeContainer(checked)] }),
      `${FIELD_MANAGER}-upgrade`,
    );
  }

  async updateAffinity(ref: WorkflowRef, service: string, affinity: AffinitySpec): Promise<void> {
    await this.requireDeployment(ref, service);
    await this.objects.apply(this.deploymentPatch(ref, service, placementOf(affinity)), `${FIELD_MANAGER}-affinity`);
  }

  async updateResources(ref: WorkflowRef, service: string, resources: ResourceSpec): Promise<void> {
    validateResources(resources, 'resources');
    await this.requireDeployment(ref, service);
    await this.objects.apply(
      this.deploymentPatch(ref, service, { containers: [{ name: CONTAINER, resources: resourcesOf(resources) }] }),
      `${FIELD_MANAGER}-resources`,
    );
  }

  private async applyService(ref: WorkflowRef, s: ServiceSpec, role: 'service' | 'backup'): Promise<void> {
    const ns = this.objects.namespace;
    await this.objects.apply(deploymentOf(ref, ns, s, role));
    await this.objects.apply(serviceOf(ref, ns, s));
    const name = serviceObjectName(ref, s.name);
    if (s.autoscaling) {
      await this.objects.apply(autoscalerOf(ref, ns, s.name, s.autoscaling));
      // Only one autoscaler per Deployment: drop the other kind if the spec switched.
      if (s.autoscaling.kind === 'keda') await this.objects.remove('autoscaling/v2', 'HorizontalPodAutoscaler', name);
      else await this.objects.remove('keda.sh/v1alpha1', 'ScaledObject', name);
    }
  }

  /** A partial Deployment touching only the main container / pod spec of one service. */
  private deploymentPatch(ref: WorkflowRef, service: string, podSpec: Record<string, unknown>): Obj {
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: serviceObjectName(ref, service), namespace: this.objects.namespace },
      spec: { template: { spec: podSpec } },
    };
  }

  /** A partial apply would create a half-specified Deployment: refuse (404) when there is none. */
  private async requireDeployment(ref: WorkflowRef, service: string): Promise<void> {
    checkRef(ref);
    await this.objects.read('apps/v1', 'Deployment', serviceObjectName(ref, service));
  }
}

function upgradeContainer(change: CheckedUpgrade): Record<string, unknown> {
  return {
    name: CONTAINER,
    ...(change.image ? { image: change.image } : {}),
    ...(change.command ? { command: change.command } : {}),
    ...(change.args ? { args: change.args } : {}),
    ...(change.env ? { env: envList(change.env) } : {}),
  };
}
