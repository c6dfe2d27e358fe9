/**
 * The `kubernetes` platform: Table IV primitives on a real cluster through server-side apply.
 *
 * Field managers: whole objects are applied by "scanflow"; a primitive that changes one aspect
 * of an object (image, resources, affinity, replicas) applies only those fields under its own
 * manager ("scanflow-upgrade", …) with force, so it never drops fields the deploy set and a
 * repeat is a no-op. All names/labels come from names.ts; specs are validated first.
 */
import { PatchStrategy, type KubernetesObject, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  AffinitySpec,
  AutoscalingUpdate,
  BatchPlatform,
  BatchRunStatus,
  BatchWorkflowSpec,
  ContainerUpgrade,
  ExecutorSpec,
  OnlinePlatform,
  OnlineWorkflowSpec,
  Platform,
  PodPlacement,
  ReplicaStatus,
  ResourceSpec,
  RunOptions,
  ServiceSpec,
  StepStatus,
  TrafficSpec,
  WorkflowRef,
} from '../types.js';
import { LABEL_COMPONENT, LABEL_RUN } from '../types.js';
import { loadKubeConfig, makeClients, type KubeClients } from './client.js';
import { runStatus, startable, type Observed } from './dag.js';
import { ignoreNotFound, invalidSpec, kubeCall } from './errors.js';
import {
  autoscalerOf,
  batchDefinitionOf,
  CONTAINER,
  deploymentOf,
  destinationRuleOf,
  entryServiceOf,
  envList,
  jobOf,
  onlineServices,
  placementOf,
  resourcesOf,
  serviceOf,
  virtualServiceOf,
  type Obj,
} from './manifests.js';
import {
  batchDefinitionName,
  checkDnsLabel,
  checkRef,
  componentLabels,
  selectorOf,
  serviceObjectName,
  workflowLabels,
} from './names.js';
import { validateBatch, validateOnline, validateResources, validateService, validateTraffic } from './validate.js';

export interface KubernetesPlatformOptions {
  namespace: string;
  /** Default: in-cluster config, else ~/.kube/config. */
  kubeconfigPath?: string;
}

export const FIELD_MANAGER = 'scanflow';

/** Kinds a workflow may own, for label-selected deletes and pruning. */
const ONLINE_KINDS: Array<[apiVersion: string, kind: string]> = [
  ['networking.istio.io/v1', 'VirtualService'],
  ['networking.istio.io/v1', 'DestinationRule'],
  ['keda.sh/v1alpha1', 'ScaledObject'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler'],
  ['v1', 'Service'],
  ['apps/v1', 'Deployment'],
];

export class KubernetesPlatform implements Platform, OnlinePlatform, BatchPlatform {
  readonly namespace: string;
  private readonly c: KubeClients;

  constructor(opts: KubernetesPlatformOptions) {
    this.namespace = opts.namespace;
    checkDnsLabel(opts.namespace, 'namespace');
    this.c = makeClients(loadKubeConfig(opts.kubeconfigPath));
  }

  // ------------------------------------------------------------ generic helpers

  /** Server-side apply of a (possibly partial) object. */
  private async apply(obj: Obj, manager = FIELD_MANAGER): Promise<KubernetesObject> {
    return kubeCall(`apply ${obj.kind} ${this.namespace}/${obj.metadata.name}`, () =>
      this.c.objects.patch(obj, undefined, undefined, manager, true, PatchStrategy.ServerSideApply),
    );
  }

  private async read(
    apiVersion: string,
    kind: string,
    name: string,
  ): Promise<KubernetesObject & Record<string, unknown>> {
    return kubeCall(`read ${kind} ${this.namespace}/${name}`, () =>
      this.c.objects.read({ apiVersion, kind, metadata: { name, namespace: this.namespace } }),
    ) as Promise<KubernetesObject & Record<string, unknown>>;
  }

  private async readOptional(
    apiVersion: string,
    kind: string,
    name: string,
  ): Promise<(KubernetesObject & Record<string, unknown>) | undefined> {
    return ignoreNotFound(`read ${kind} ${this.namespace}/${name}`, () =>
      this.c.objects.read({ apiVersion, kind, metadata: { name, namespace: this.namespace } }),
    ) as Promise<(KubernetesObject & Record<string, unknown>) | undefined>;
  }

  private async remove(apiVersion: string, kind: string, name: string): Promise<void> {
    await ignoreNotFound(`delete ${kind} ${this.namespace}/${name}`, () =>
      this.c.objects.delete(
        { apiVersion, kind, metadata: { name, namespace: this.namespace } },
        undefined,
        undefined,
        undefined,
        undefined,
        'Background',
      ),
    );
  }

  private async listNames(apiVersion: string, kind: string, labels: Record<string, string>): Promise<string[]> {
    const list = await kubeCall(`list ${kind} in ${this.namespace}`, () =>
      this.c.objects.list(
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

  private async removeLabelled(apiVersion: string, kind: string, labels: Record<string, string>): Promise<void> {
    for (const name of await this.listNames(apiVersion, kind, labels)) await this.remove(apiVersion, kind, name);
  }

  /** A partial Deployment touching only the main container / pod spec of one service. */
  private deploymentPatch(ref: WorkflowRef, service: string, podSpec: Record<string, unknown>): Obj {
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: serviceObjectName(ref, service), namespace: this.namespace },
      spec: { template: { spec: podSpec } },
    };
  }

  private async requireDeployment(ref: WorkflowRef, service: string): Promise<void> {
    checkRef(ref);
    await this.read('apps/v1', 'Deployment', serviceObjectName(ref, service));
  }

  // ------------------------------------------------------------ online workflow

  async deployWorkflow(spec: OnlineWorkflowSpec): Promise<void> {
    validateOnline(spec);
    const services = onlineServices(spec);
    for (const { service, role } of services) await this.applyService(spec, service, role);
    const traffic: TrafficSpec = spec.traffic ?? { active: spec.services[0]!.name };
    await this.applyTraffic(
      spec,
      traffic,
      services.map((s) => s.service),
    );
  }

  private async applyService(ref: WorkflowRef, s: ServiceSpec, role: 'service' | 'backup'): Promise<void> {
    await this.apply(deploymentOf(ref, this.namespace, s, role));
    await this.apply(serviceOf(ref, this.namespace, s));
    const name = serviceObjectName(ref, s.name);
    if (s.autoscaling) {
      await this.apply(autoscalerOf(ref, this.namespace, s.name, s.autoscaling));
      // Only one autoscaler per Deployment: drop the other kind if the spec switched.
      if (s.autoscaling.kind === 'keda') await this.remove('autoscaling/v2', 'HorizontalPodAutoscaler', name);
      else await this.remove('keda.sh/v1alpha1', 'ScaledObject', name);
    }
  }

  private async applyTraffic(ref: WorkflowRef, traffic: TrafficSpec, services: ServiceSpec[]): Promise<void> {
    validateTraffic(
      traffic,
      services.map((s) => s.name),
    );
    const target = traffic.active ?? Object.entries(traffic.weights ?? {}).sort((a, b) => b[1] - a[1])[0]![0];
    const port = services.find((s) => s.name === target)!.port;
    await this.apply(entryServiceOf(ref, this.namespace, port, traffic));
    if (traffic.weights) {
      await this.apply(
        destinationRuleOf(
          ref,
          this.namespace,
          services.map((s) => s.name),
        ),
      );
      await this.apply(virtualServiceOf(ref, this.namespace, traffic.weights));
    } else {
      // All traffic to one service: a mesh split would contradict the entry Service.
      await this.remove('networking.istio.io/v1', 'VirtualService', ref.workflow);
    }
  }

  async deleteWorkflow(ref: WorkflowRef): Promise<void> {
    checkRef(ref);
    for (const [apiVersion, kind] of ONLINE_KINDS) await this.removeLabelled(apiVersion, kind, workflowLabels(ref));
  }

  async upgradeOnlineWorkflow(ref: WorkflowRef, service: string, change: ContainerUpgrade): Promise<void> {
    if (!change.image && !change.command && !change.args && !change.env)
      throw invalidSpec('upgrade: give at least one of image, command, args, env');
    await this.requireDeployment(ref, service);
    await this.apply(
      this.deploymentPatch(ref, service, { containers: [upgradeContainer(change)] }),
      `${FIELD_MANAGER}-upgrade`,
    );
  }

  async updateOnlineWorkflowAffinity(ref: WorkflowRef, service: string, affinity: AffinitySpec): Promise<void> {
    await this.requireDeployment(ref, service);
    await this.apply(this.deploymentPatch(ref, service, placementOf(affinity)), `${FIELD_MANAGER}-affinity`);
  }

  async updateOnlineWorkflowResource(ref: WorkflowRef, service: string, resources: ResourceSpec): Promise<void> {
    validateResources(resources, 'resources');
    await this.requireDeployment(ref, service);
    await this.apply(
      this.deploymentPatch(ref, service, { containers: [{ name: CONTAINER, resources: resourcesOf(resources) }] }),
      `${FIELD_MANAGER}-resources`,
    );
  }

  async updateWorkflowReplica(ref: WorkflowRef, service: string, change: AutoscalingUpdate): Promise<void> {
    checkRef(ref);
    const name = serviceObjectName(ref, service);
    const so = await this.readOptional('keda.sh/v1alpha1', 'ScaledObject', name);
    const hpa = so ? undefined : await this.readOptional('autoscaling/v2', 'HorizontalPodAutoscaler', name);
    const current = (so ?? hpa)?.spec as Record<string, unknown> | undefined;
    if (!current)
      throw invalidSpec(
        `updateWorkflowReplica: service '${service}' of ${ref.app}/${ref.workflow} has no autoscaler (ScaledObject or HPA ${this.namespace}/${name}); deploy it with autoscaling first`,
      );
    if (so) {
      const triggers = structuredClone(current.triggers as Array<{ metadata: Record<string, string> }>);
      if (change.threshold !== undefined) triggers[0]!.metadata.threshold = String(change.threshold);
      const min = change.minReplicas ?? (current.minReplicaCount as number);
      const max = change.maxReplicas ?? (current.maxReplicaCount as number);
      if (min > max) throw invalidSpec(`updateWorkflowReplica: minReplicas ${min} > maxReplicas ${max}`);
      await this.apply({
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name, namespace: this.namespace, labels: componentLabels(ref, service) },
        spec: { ...current, minReplicaCount: min, maxReplicaCount: max, triggers },
      });
    } else {
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
      await this.apply({
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name, namespace: this.namespace, labels: componentLabels(ref, service) },
        spec: { scaleTargetRef: current.scaleTargetRef, minReplicas: min, maxReplicas: max, metrics },
      });
    }
  }

  async updateWorkflowTraffic(ref: WorkflowRef, traffic: TrafficSpec): Promise<void> {
    checkRef(ref);
    const names = await this.listNames('apps/v1', 'Deployment', {
      ...workflowLabels(ref),
      'scanflow.io/online': 'true',
    });
    if (names.length === 0)
      throw invalidSpec(
        `updateWorkflowTraffic: ${ref.app}/${ref.workflow} has no deployed services in ${this.namespace}`,
      );
    const services: ServiceSpec[] = [];
    for (const dn of names) {
      const d = (await this.read('apps/v1', 'Deployment', dn)) as {
        metadata?: { labels?: Record<string, string> };
        spec?: { template?: { spec?: { containers?: Array<{ ports?: Array<{ containerPort: number }> }> } } };
      };
      const service = d.metadata?.labels?.[LABEL_COMPONENT];
      const port = d.spec?.template?.spec?.containers?.[0]?.ports?.[0]?.containerPort;
      if (service && port) services.push({ name: service, port, image: '', replicas: 0 });
    }
    await this.applyTraffic(ref, traffic, services);
  }

  async applyWorkflowInstance(ref: WorkflowRef, service: ServiceSpec): Promise<void> {
    checkRef(ref);
    validateService(service, 'service');
    await this.applyService(ref, service, 'service');
  }

  async deleteWorkflowInstance(ref: WorkflowRef, service: string): Promise<void> {
    checkRef(ref);
    const name = serviceObjectName(ref, service);
    for (const [apiVersion, kind] of ONLINE_KINDS) {
      if (kind === 'VirtualService' || kind === 'DestinationRule') continue;
      await this.remove(apiVersion, kind, name);
    }
  }

  async duplicateWorkflowInstance(ref: WorkflowRef, service: string, replicas: number): Promise<void> {
    if (!Number.isInteger(replicas) || replicas < 0)
      throw invalidSpec(`duplicateWorkflowInstance: replicas must be an integer >= 0, got ${replicas}`);
    await this.requireDeployment(ref, service);
    await this.apply(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: serviceObjectName(ref, service), namespace: this.namespace },
        spec: { replicas },
      },
      `${FIELD_MANAGER}-replicas`,
    );
  }

  async readyReplicas(ref: WorkflowRef): Promise<ReplicaStatus[]> {
    checkRef(ref);
    const list = await kubeCall(`list Deployments of ${ref.workflow}`, () =>
      this.c.apps.listNamespacedDeployment({
        namespace: this.namespace,
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

  async podPlacement(ref: WorkflowRef): Promise<PodPlacement[]> {
    checkRef(ref);
    const pods = await this.pods(workflowLabels(ref));
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

  private async pods(labels: Record<string, string>): Promise<V1Pod[]> {
    const list = await kubeCall(`list Pods in ${this.namespace}`, () =>
      this.c.core.listNamespacedPod({ namespace: this.namespace, labelSelector: selectorOf(labels) }),
    );
    return list.items.filter((p) => !p.metadata?.deletionTimestamp);
  }

  // ------------------------------------------------------------ batch workflow

  async applyBatchWorkflow(spec: BatchWorkflowSpec): Promise<void> {
    validateBatch(spec);
    const clean: BatchWorkflowSpec = { app: spec.app, workflow: spec.workflow, executors: spec.executors };
    await this.apply(batchDefinitionOf(spec, this.namespace, batchDefinitionName(spec), JSON.stringify(clean)));
  }

  /** The stored definition (the source of truth for runs and update primitives). */
  async readBatchWorkflow(ref: WorkflowRef): Promise<BatchWorkflowSpec> {
    checkRef(ref);
    const cm = (await this.readOptional('v1', 'ConfigMap', batchDefinitionName(ref))) as
      { data?: Record<string, string> } | undefined;
    const raw = cm?.data?.['workflow.json'];
    if (!raw)
      throw invalidSpec(
        `batch workflow ${ref.app}/${ref.workflow} is not defined in ${this.namespace} (applyBatchWorkflow first)`,
      );
    return JSON.parse(raw) as BatchWorkflowSpec;
  }

  private async changeBatch(
    ref: WorkflowRef,
    executor: string | undefined,
    edit: (e: ExecutorSpec) => ExecutorSpec,
  ): Promise<void> {
    const spec = await this.readBatchWorkflow(ref);
    if (executor !== undefined && !spec.executors.some((e) => e.name === executor)) {
      throw invalidSpec(
        `batch workflow ${ref.app}/${ref.workflow} has no executor '${executor}' (known: ${spec.executors.map((e) => e.name).join(', ')})`,
      );
    }
    await this.applyBatchWorkflow({
      ...spec,
      executors: spec.executors.map((e) => (executor === undefined || e.name === executor ? edit(e) : e)),
    });
  }

  private async observe(ref: WorkflowRef, runId: string): Promise<Observed> {
    const labels = { ...workflowLabels(ref), [LABEL_RUN]: runId };
    const jobs = await kubeCall(`list Jobs of ${ref.workflow} run ${runId}`, () =>
      this.c.batch.listNamespacedJob({ namespace: this.namespace, labelSelector: selectorOf(labels) }),
    );
    const pods = await this.pods(labels);
    return { jobs: new Map(jobs.items.map((j: V1Job) => [j.metadata?.name ?? '', j])), pods };
  }

  async jobStatus(ref: WorkflowRef, runId: string): Promise<BatchRunStatus> {
    const spec = await this.readBatchWorkflow(ref);
    checkDnsLabel(runId, 'runId', 20);
    return runStatus(spec, runId, validateBatch(spec, runId), await this.observe(ref, runId));
  }

  async runWorkflow(ref: WorkflowRef, runId: string, opts: RunOptions = {}): Promise<BatchRunStatus> {
    checkDnsLabel(runId, 'runId', 20);
    let last = '';
    for (;;) {
      // Re-read the definition every round: updates made while the run goes on reach the
      // steps that have not started yet.
      const spec = await this.readBatchWorkflow(ref);
      const order = validateBatch(spec, runId);
      let status = runStatus(spec, runId, order, await this.observe(ref, runId));
      if (status.phase === 'Running' && !status.steps.some((s) => s.phase === 'Failed')) {
        const next = startable(spec, status);
        for (const name of next)
          await this.apply(
            jobOf(
              spec,
              this.namespace,
              runId,
              spec.executors.find((e) => e.name === name)!,
            ),
          );
        if (next.length) status = runStatus(spec, runId, order, await this.observe(ref, runId));
      }
      const key = JSON.stringify(status.steps.map((s) => [s.executor, s.phase]));
      if (key !== last) {
        last = key;
        opts.onProgress?.(status);
      }
      if (status.phase !== 'Running') return status;
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      await sleep(opts.pollMs ?? 500, undefined, opts.signal ? { signal: opts.signal } : undefined);
    }
  }

  async stopWorkflow(ref: WorkflowRef, runId?: string): Promise<void> {
    checkRef(ref);
    await this.removeLabelled('batch/v1', 'Job', { ...workflowLabels(ref), ...(runId ? { [LABEL_RUN]: runId } : {}) });
  }

  async upgradeBatchWorkflow(ref: WorkflowRef, change: ContainerUpgrade): Promise<void> {
    await this.changeBatch(ref, undefined, (e) => upgradeExecutorSpec(e, change));
  }

  async updateBatchWorkflowAffinity(ref: WorkflowRef, affinity: AffinitySpec): Promise<void> {
    await this.changeBatch(ref, undefined, (e) => ({ ...e, affinity }));
  }

  async updateBatchWorkflowResource(ref: WorkflowRef, resources: ResourceSpec): Promise<void> {
    await this.changeBatch(ref, undefined, (e) => ({ ...e, resources }));
  }

  async runExecutor(ref: WorkflowRef, executor: string, runId: string, opts: RunOptions = {}): Promise<StepStatus> {
    const spec = await this.readBatchWorkflow(ref);
    const e = spec.executors.find((x) => x.name === executor);
    if (!e) throw invalidSpec(`batch workflow ${ref.app}/${ref.workflow} has no executor '${executor}'`);
    // A one-step workflow view: the executor alone, its dependencies ignored.
    const single: BatchWorkflowSpec = { ...spec, executors: [{ ...e, dependsOn: [] }] };
    checkDnsLabel(runId, 'runId', 20);
    validateBatch(single, runId);
    for (;;) {
      let status = runStatus(single, runId, [executor], await this.observe(ref, runId));
      if (status.steps[0]!.phase === 'Pending') {
        await this.apply(jobOf(spec, this.namespace, runId, single.executors[0]!));
        status = runStatus(single, runId, [executor], await this.observe(ref, runId));
      }
      opts.onProgress?.(status);
      const step = status.steps[0]!;
      if (step.phase === 'Succeeded' || step.phase === 'Failed') return step;
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      await sleep(opts.pollMs ?? 500, undefined, opts.signal ? { signal: opts.signal } : undefined);
    }
  }

  async stopExecutor(ref: WorkflowRef, executor: string, runId?: string): Promise<void> {
    checkRef(ref);
    await this.removeLabelled('batch/v1', 'Job', {
      ...componentLabels(ref, executor),
      ...(runId ? { [LABEL_RUN]: runId } : {}),
    });
  }

  async upgradeExecutor(ref: WorkflowRef, executor: string, change: ContainerUpgrade): Promise<void> {
    await this.changeBatch(ref, executor, (e) => upgradeExecutorSpec(e, change));
  }

  async updateExecutorAffinity(ref: WorkflowRef, executor: string, affinity: AffinitySpec): Promise<void> {
    await this.changeBatch(ref, executor, (e) => ({ ...e, affinity }));
  }

  async updateExecutorResource(ref: WorkflowRef, executor: string, resources: ResourceSpec): Promise<void> {
    await this.changeBatch(ref, executor, (e) => ({ ...e, resources }));
  }
}

function upgradeContainer(change: ContainerUpgrade): Record<string, unknown> {
  return {
    name: CONTAINER,
    ...(change.image ? { image: change.image } : {}),
    ...(change.command ? { command: change.command } : {}),
    ...(change.args ? { args: change.args } : {}),
    ...(change.env ? { env: envList(change.env) } : {}),
  };
}

function upgradeExecutorSpec(e: ExecutorSpec, change: ContainerUpgrade): ExecutorSpec {
  if (!change.image && !change.command && !change.args && !change.env)
    throw invalidSpec('upgrade: give at least one of image, command, args, env');
  return {
    ...e,
    ...(change.image ? { image: change.image } : {}),
    ...(change.command ? { command: change.command } : {}),
    ...(change.args ? { args: change.args } : {}),
    ...(change.env ? { env: { ...e.env, ...change.env } } : {}),
  };
}
