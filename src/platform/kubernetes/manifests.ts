/**
 * Pure builders: Scanflow specs → Kubernetes objects (plain JSON, ready for server-side apply).
 * Every object carries app / workflow / managed-by labels and, for pods, the component label.
 *
 * Every generated pod meets the Pod Security Standard `restricted` (the namespace can enforce
 * it): non-root, no privilege escalation, all capabilities dropped, seccomp RuntimeDefault, a
 * read-only root filesystem with a writable emptyDir at /tmp, and no ServiceAccount token unless
 * the spec says the workload calls the Kubernetes API. Secrets reach containers by reference
 * (`valueFrom.secretKeyRef`), never as values.
 */
import type {
  AffinitySpec,
  AutoscalingSpec,
  ContainerSpec,
  ExecutorSpec,
  OnlineWorkflowSpec,
  PodAffinityTerm,
  ResourceSpec,
  ServiceSpec,
  TrafficSpec,
  WorkflowRef,
} from '../types.js';
import { LABEL_COMPONENT } from '../types.js';
import { componentLabels, jobName, runLabels, serviceObjectName, workflowLabels } from '../names.js';

/** Loose JSON object type for apply bodies (server-side apply takes partial objects). */
export type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
};

export const CONTAINER = 'main';
/** Set on every online service's pods: the traffic-splitting entry Service selects them all. */
export const LABEL_ONLINE = 'scanflow.io/online';

export function envList(env: Record<string, string> | undefined): Array<{ name: string; value: string }> | undefined {
  return env ? Object.entries(env).map(([name, value]) => ({ name, value })) : undefined;
}

export function resourcesOf(r: ResourceSpec | undefined): Record<string, unknown> | undefined {
  if (!r) return undefined;
  const out: Record<string, unknown> = {};
  if (r.requests) out.requests = { ...r.requests };
  if (r.limits) out.limits = { ...r.limits };
  return out;
}

function podTerm(t: PodAffinityTerm): Record<string, unknown> {
  return { labelSelector: { matchLabels: t.matchLabels }, topologyKey: t.topologyKey ?? 'kubernetes.io/hostname' };
}

function podAffinityOf(terms: PodAffinityTerm[] | undefined): Record<string, unknown> | undefined {
  if (!terms || terms.length === 0) return undefined;
  const required = terms.filter((t) => t.mode === 'required').map(podTerm);
  const preferred = terms
    .filter((t) => t.mode === 'preferred')
    .map((t) => ({ weight: t.weight ?? 100, podAffinityTerm: podTerm(t) }));
  return {
    ...(required.length ? { requiredDuringSchedulingIgnoredDuringExecution: required } : {}),
    ...(preferred.length ? { preferredDuringSchedulingIgnoredDuringExecution: preferred } : {}),
  };
}

/** The pod-spec fields an AffinitySpec sets: nodeSelector and affinity. */
export function placementOf(a: AffinitySpec | undefined): Record<string, unknown> {
  if (!a) return {};
  const affinity: Record<string, unknown> = {};
  const anti = podAffinityOf(a.antiAffinity);
  const pro = podAffinityOf(a.affinity);
  if (anti) affinity.podAntiAffinity = anti;
  if (pro) affinity.podAffinity = pro;
  return {
    ...(a.nodeSelector ? { nodeSelector: { ...a.nodeSelector } } : {}),
    ...(Object.keys(affinity).length ? { affinity } : {}),
  };
}

/** The restricted container securityContext (Pod Security Standards, `restricted` profile). */
export const RESTRICTED_CONTAINER_SECURITY = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
} as const;

const TMP_VOLUME = 'tmp';

/** Plain env first, then the Secret references (valueFrom.secretKeyRef: the value stays in the Secret). */
export function containerEnv(c: Pick<ContainerSpec, 'env' | 'secretEnv'>): Array<Record<string, unknown>> | undefined {
  const refs = Object.entries(c.secretEnv ?? {}).map(([name, ref]) => ({
    name,
    valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key } },
  }));
  const plain = (envList(c.env) ?? []).filter((e) => !(c.secretEnv && e.name in c.secretEnv));
  return plain.length || refs.length ? [...plain, ...refs] : undefined;
}

function container(c: ContainerSpec, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: CONTAINER,
    image: c.image,
    ...(c.command ? { command: c.command } : {}),
    ...(c.args ? { args: c.args } : {}),
    ...(c.env || c.secretEnv ? { env: containerEnv(c) } : {}),
    ...(c.resources ? { resources: resourcesOf(c.resources) } : {}),
    securityContext: structuredClone(RESTRICTED_CONTAINER_SECURITY),
    volumeMounts: [{ name: TMP_VOLUME, mountPath: '/tmp' }],
    ...extra,
  };
}

/** Pod-level fields every generated pod carries. */
function podSecurity(c: ContainerSpec): Record<string, unknown> {
  return {
    automountServiceAccountToken: c.kubernetesApiAccess === true,
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    volumes: [{ name: TMP_VOLUME, emptyDir: { sizeLimit: '256Mi' } }],
  };
}

// ------------------------------------------------------------------ online

export function deploymentOf(ref: WorkflowRef, namespace: string, s: ServiceSpec, role: 'service' | 'backup'): Obj {
  const labels = { ...componentLabels(ref, s.name), [LABEL_ONLINE]: 'true', 'scanflow.io/role': role };
  const probe = s.readinessPath
    ? { readinessProbe: { httpGet: { path: s.readinessPath, port: s.port }, periodSeconds: 5 } }
    : {};
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: serviceObjectName(ref, s.name), namespace, labels },
    spec: {
      replicas: s.replicas,
      selector: { matchLabels: componentLabels(ref, s.name) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels, ...(s.annotations ? { annotations: { ...s.annotations } } : {}) },
        spec: {
          ...placementOf(s.affinity),
          ...podSecurity(s),
          containers: [container(s, { ports: [{ name: 'http', containerPort: s.port, protocol: 'TCP' }], ...probe })],
        },
      },
    },
  };
}

export function serviceOf(ref: WorkflowRef, namespace: string, s: ServiceSpec): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: serviceObjectName(ref, s.name), namespace, labels: componentLabels(ref, s.name) },
    spec: {
      selector: componentLabels(ref, s.name),
      ports: [{ name: 'http', port: s.port, targetPort: s.port, protocol: 'TCP' }],
    },
  };
}

/**
 * The workflow's entry Service (named after the workflow). With `active`, its selector picks
 * that service's pods (fail-over = switch the selector). With weights, it selects every online
 * pod of the workflow and the VirtualService splits the traffic.
 */
export function entryServiceOf(ref: WorkflowRef, namespace: string, port: number, traffic: TrafficSpec): Obj {
  const selector =
    traffic.active !== undefined
      ? componentLabels(ref, traffic.active)
      : { ...workflowLabels(ref), [LABEL_ONLINE]: 'true' };
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: ref.workflow,
      namespace,
      labels: { ...workflowLabels(ref), [LABEL_COMPONENT]: 'entry' },
      annotations: { 'scanflow.io/traffic': JSON.stringify(traffic) },
    },
    spec: { selector, ports: [{ name: 'http', port, targetPort: port, protocol: 'TCP' }] },
  };
}

export function destinationRuleOf(ref: WorkflowRef, namespace: string, services: string[]): Obj {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: ref.workflow, namespace, labels: { ...workflowLabels(ref), [LABEL_COMPONENT]: 'entry' } },
    spec: { host: ref.workflow, subsets: services.map((name) => ({ name, labels: { [LABEL_COMPONENT]: name } })) },
  };
}

export function virtualServiceOf(ref: WorkflowRef, namespace: string, weights: Record<string, number>): Obj {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: ref.workflow, namespace, labels: { ...workflowLabels(ref), [LABEL_COMPONENT]: 'entry' } },
    spec: {
      hosts: [ref.workflow],
      http: [
        {
          name: 'split',
          route: Object.entries(weights).map(([subset, weight]) => ({
            destination: { host: ref.workflow, subset },
            weight,
          })),
        },
      ],
    },
  };
}

export function autoscalerOf(ref: WorkflowRef, namespace: string, service: string, a: AutoscalingSpec): Obj {
  const name = serviceObjectName(ref, service);
  const labels = componentLabels(ref, service);
  if (a.kind === 'keda') {
    return {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name, namespace, labels },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
        pollingInterval: a.pollingIntervalSeconds ?? 30,
        cooldownPeriod: a.cooldownPeriodSeconds ?? 300,
        minReplicaCount: a.minReplicas,
        maxReplicaCount: a.maxReplicas,
        triggers: [
          {
            type: 'prometheus',
            metadata: {
              serverAddress: a.prometheus.serverAddress,
              query: a.prometheus.query,
              threshold: String(a.prometheus.threshold),
              ...(a.prometheus.activationThreshold !== undefined
                ? { activationThreshold: String(a.prometheus.activationThreshold) }
                : {}),
            },
          },
        ],
      },
    };
  }
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace, labels },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: a.minReplicas,
      maxReplicas: a.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: a.cpuUtilization } },
        },
      ],
    },
  };
}

export function onlineServices(spec: OnlineWorkflowSpec): Array<{ service: ServiceSpec; role: 'service' | 'backup' }> {
  return [
    ...spec.services.map((service) => ({ service, role: 'service' as const })),
    ...(spec.backup ? [{ service: spec.backup, role: 'backup' as const }] : []),
  ];
}

// ------------------------------------------------------------------ batch

export function jobOf(ref: WorkflowRef, namespace: string, runId: string, e: ExecutorSpec): Obj {
  const labels = runLabels(ref, runId, e.name);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobName(ref, runId, e.name), namespace, labels },
    spec: {
      backoffLimit: e.backoffLimit ?? 0,
      ...(e.timeoutSeconds ? { activeDeadlineSeconds: e.timeoutSeconds } : {}),
      template: {
        metadata: { labels, ...(e.annotations ? { annotations: { ...e.annotations } } : {}) },
        spec: { restartPolicy: 'Never', ...placementOf(e.affinity), ...podSecurity(e), containers: [container(e)] },
      },
    },
  };
}

export function batchDefinitionOf(ref: WorkflowRef, namespace: string, name: string, specJson: string): Obj {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { ...workflowLabels(ref), [LABEL_COMPONENT]: 'definition' } },
    data: { 'workflow.json': specJson },
  };
}
