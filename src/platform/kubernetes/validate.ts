/** Checks specs before anything is sent to the API server; errors name the field. */
import type { BatchWorkflowSpec, OnlineWorkflowSpec, ResourceSpec, ServiceSpec, TrafficSpec } from '../types.js';
import { invalidSpec } from './errors.js';
import { checkDnsLabel, checkRef, jobName } from './names.js';

/** Executors in an order where every dependency comes first; throws on unknown deps or cycles. */
export function validateBatch(spec: BatchWorkflowSpec, runIdForLength = 'r'): string[] {
  checkRef(spec);
  if (!Array.isArray(spec.executors) || spec.executors.length === 0)
    throw invalidSpec(`batch workflow '${spec.workflow}': executors must be a non-empty list`);
  const names = new Set<string>();
  for (const [i, e] of spec.executors.entries()) {
    checkDnsLabel(e.name, `executors[${i}].name`);
    if (names.has(e.name)) throw invalidSpec(`executors[${i}].name '${e.name}' is used twice`);
    names.add(e.name);
    if (!e.image) throw invalidSpec(`executors[${i}] ('${e.name}').image is required`);
    validateResources(e.resources, `executors[${i}].resources`);
    const job = jobName(spec, runIdForLength, e.name);
    if (job.length > 63)
      throw invalidSpec(
        `executors[${i}]: Job name '${job}' would exceed 63 characters: shorten the workflow, run id or executor name`,
      );
  }
  for (const [i, e] of spec.executors.entries()) {
    for (const d of e.dependsOn ?? [])
      if (!names.has(d)) throw invalidSpec(`executors[${i}] ('${e.name}').dependsOn names unknown executor '${d}'`);
  }
  // Kahn's algorithm: a topological order, or the executors left on a cycle.
  const order: string[] = [];
  const remaining = new Map(spec.executors.map((e) => [e.name, new Set(e.dependsOn ?? [])]));
  while (remaining.size > 0) {
    const ready = [...remaining].filter(([, deps]) => deps.size === 0).map(([n]) => n);
    if (ready.length === 0)
      throw invalidSpec(
        `batch workflow '${spec.workflow}': dependsOn has a cycle among ${[...remaining.keys()].join(', ')}`,
      );
    for (const n of ready) {
      order.push(n);
      remaining.delete(n);
      for (const deps of remaining.values()) deps.delete(n);
    }
  }
  return order;
}

export function validateService(s: ServiceSpec, field: string): void {
  checkDnsLabel(s.name, `${field}.name`, 22);
  if (!s.image) throw invalidSpec(`${field} ('${s.name}').image is required`);
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535)
    throw invalidSpec(`${field} ('${s.name}').port must be an integer 1-65535, got ${s.port}`);
  if (!Number.isInteger(s.replicas) || s.replicas < 0)
    throw invalidSpec(`${field} ('${s.name}').replicas must be an integer >= 0, got ${s.replicas}`);
  validateResources(s.resources, `${field}.resources`);
  const a = s.autoscaling;
  if (a) {
    if (a.minReplicas < 0 || a.maxReplicas < 1 || a.minReplicas > a.maxReplicas)
      throw invalidSpec(
        `${field} ('${s.name}').autoscaling: need 0 <= minReplicas <= maxReplicas and maxReplicas >= 1`,
      );
    if (a.kind === 'hpa' && a.minReplicas < 1)
      throw invalidSpec(`${field} ('${s.name}').autoscaling.minReplicas must be >= 1 for an HPA (KEDA allows 0)`);
  }
}

export function validateTraffic(traffic: TrafficSpec, known: string[]): void {
  if (traffic.active !== undefined) {
    if (!known.includes(traffic.active))
      throw invalidSpec(
        `traffic.active '${traffic.active}' is not a service of this workflow (known: ${known.join(', ')})`,
      );
    return;
  }
  const entries = Object.entries(traffic.weights ?? {});
  if (entries.length === 0) throw invalidSpec('traffic needs either active or a non-empty weights map');
  let sum = 0;
  for (const [name, w] of entries) {
    if (!known.includes(name))
      throw invalidSpec(`traffic.weights.${name}: not a service of this workflow (known: ${known.join(', ')})`);
    if (!Number.isInteger(w) || w < 0 || w > 100)
      throw invalidSpec(`traffic.weights.${name} must be an integer 0-100, got ${w}`);
    sum += w;
  }
  if (sum !== 100) throw invalidSpec(`traffic.weights must sum to 100, got ${sum}`);
}

export function validateOnline(spec: OnlineWorkflowSpec): void {
  checkRef(spec);
  if (!Array.isArray(spec.services) || spec.services.length === 0)
    throw invalidSpec(`online workflow '${spec.workflow}': services must be a non-empty list`);
  const names = new Set<string>();
  const all = [
    ...spec.services.map((s, i) => [s, `services[${i}]`] as const),
    ...(spec.backup ? [[spec.backup, 'backup'] as const] : []),
  ];
  for (const [s, field] of all) {
    validateService(s, field);
    if (names.has(s.name)) throw invalidSpec(`${field}.name '${s.name}' is used twice`);
    names.add(s.name);
  }
  if (spec.traffic) validateTraffic(spec.traffic, [...names]);
}

// The API server's own quantity grammar. A malformed quantity in a server-side apply comes back
// as HTTP 500 ("failed to convert new object"), which would look retryable: catch it here.
const quantity = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;

export function validateResources(r: ResourceSpec | undefined, field: string): void {
  if (!r) return;
  for (const kind of ['requests', 'limits'] as const) {
    for (const [name, value] of Object.entries(r[kind] ?? {})) {
      if (value !== undefined && !quantity.test(value))
        throw invalidSpec(`${field}.${kind}.${name} '${value}' is not a Kubernetes quantity (e.g. 500m, 2, 256Mi)`);
    }
  }
}
