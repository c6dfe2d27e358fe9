/**
 * Where a workflow's traffic goes, which is also how fail-over to a backup happens on a cluster:
 * the entry Service (named after the workflow) selects the service that gets all traffic, or,
 * for a weighted split, an Istio DestinationRule + VirtualService divide it by weight. Moving
 * traffic to the backup service is `updateWorkflowTraffic({ active: 'backup' })`.
 */
import { LABEL_COMPONENT, type ServiceSpec, type TrafficSpec, type WorkflowRef } from '../types.js';
import { invalidSpec } from '../errors.js';
import { checkRef, workflowLabels } from '../names.js';
import { validateTraffic } from '../validate.js';
import { destinationRuleOf, entryServiceOf, LABEL_ONLINE, virtualServiceOf } from './manifests.js';
import type { NamespacedObjects } from './objects.js';

export class TrafficRouting {
  constructor(private readonly objects: NamespacedObjects) {}

  /** Points the entry at `traffic`; `services` are the workflow's (name and port are enough). */
  async apply(ref: WorkflowRef, traffic: TrafficSpec, services: ServiceSpec[]): Promise<void> {
    const ns = this.objects.namespace;
    const names = services.map((s) => s.name);
    validateTraffic(traffic, names);
    // The entry Service needs one port: the active service's, or the heaviest weighted one's.
    const target = traffic.active ?? Object.entries(traffic.weights ?? {}).sort((a, b) => b[1] - a[1])[0]![0];
    const port = services.find((s) => s.name === target)!.port;
    await this.objects.apply(entryServiceOf(ref, ns, port, traffic));
    if (traffic.weights) {
      await this.objects.apply(destinationRuleOf(ref, ns, names));
      await this.objects.apply(virtualServiceOf(ref, ns, traffic.weights));
    } else {
      // All traffic to one service: a mesh split would contradict the entry Service.
      await this.objects.remove('networking.istio.io/v1', 'VirtualService', ref.workflow);
    }
  }

  /** updateWorkflowTraffic: the services are read back from their Deployments, so only the ref is needed. */
  async update(ref: WorkflowRef, traffic: TrafficSpec): Promise<void> {
    checkRef(ref);
    const names = await this.objects.listNames('apps/v1', 'Deployment', {
      ...workflowLabels(ref),
      [LABEL_ONLINE]: 'true',
    });
    if (names.length === 0)
      throw invalidSpec(
        `updateWorkflowTraffic: ${ref.app}/${ref.workflow} has no deployed services in ${this.objects.namespace}`,
      );
    const services: ServiceSpec[] = [];
    for (const dn of names) {
      const d = (await this.objects.read('apps/v1', 'Deployment', dn)) as {
        metadata?: { labels?: Record<string, string> };
        spec?: { template?: { spec?: { containers?: Array<{ ports?: Array<{ containerPort: number }> }> } } };
      };
      const service = d.metadata?.labels?.[LABEL_COMPONENT];
      const port = d.spec?.template?.spec?.containers?.[0]?.ports?.[0]?.containerPort;
      if (service && port) services.push({ name: service, port, image: '', replicas: 0 });
    }
    await this.apply(ref, traffic, services);
  }
}
