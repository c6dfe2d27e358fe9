/**
 * The rules every platform applies to its input before acting, so a spec that one adapter accepts
 * the other accepts too: each check throws an InvalidSpec failure whose message names the field
 * (`services[0].port`, `traffic.weights.backup`, `change.env.X`), and nothing is changed.
 */
import type {
  AutoscalingUpdate,
  BatchWorkflowSpec,
  ContainerUpgrade,
  OnlineWorkflowSpec,
  ResourceSpec,
  ServiceSpec,
  TrafficSpec,
} from './types.js';
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
    validateSecretEnv(e.secretEnv, `executors[${i}].secretEnv`);
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

/** A Secret name (DNS subdomain) and key: a reference, never a value. */
const SECRET_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function validateSecretEnv(refs: unknown, field: string): void {
  if (refs === undefined) return;
  if (!refs || typeof refs !== 'object' || Array.isArray(refs))
    throw invalidSpec(`${field} must be an object of NAME: { secret, key }, got ${JSON.stringify(refs)?.slice(0, 80)}`);
  for (const [name, ref] of Object.entries(refs)) {
    if (!ENV_NAME.test(name)) throw invalidSpec(`${field}: '${name}' is not an environment variable name`);
    const { secret, key } = (ref ?? {}) as { secret?: unknown; key?: unknown };
    if (typeof secret !== 'string' || !SECRET_NAME.test(secret))
      throw invalidSpec(`${field}.${name}.secret must be a Secret name, got ${JSON.stringify(secret)?.slice(0, 80)}`);
    if (typeof key !== 'string' || !SECRET_KEY.test(key))
      throw invalidSpec(`${field}.${name}.key must be a Secret key, got ${JSON.stringify(key)?.slice(0, 80)}`);
  }
}

export function validateService(s: ServiceSpec, field: string): void {
  checkDnsLabel(s.name, `${field}.name`, 22);
  if (!s.image) throw invalidSpec(`${field} ('${s.name}').image is required`);
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535)
    throw invalidSpec(`${field} ('${s.name}').port must be an integer 1-65535, got ${s.port}`);
  if (!Number.isInteger(s.replicas) || s.replicas < 0)
    throw invalidSpec(`${field} ('${s.name}').replicas must be an integer >= 0, got ${s.replicas}`);
  validateResources(s.resources, `${field}.resources`);
  validateSecretEnv(s.secretEnv, `${field}.secretEnv`);
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

/** A replica count set directly (duplicateWorkflowInstance). */
export function validateReplicaCount(replicas: number, field = 'replicas'): void {
  if (!Number.isInteger(replicas) || replicas < 0)
    throw invalidSpec(`${field} must be an integer >= 0, got ${replicas}`);
}

/** An upgrade whose env values are all text: what the adapters apply. */
export type CheckedUpgrade = Omit<ContainerUpgrade, 'env'> & { env?: Record<string, string> };

/**
 * Checks an upgrade and writes its env values as text. A number is accepted (an agent passes a
 * model version as the number it is) and becomes its decimal text here, the one place where a
 * typed value turns into an environment string.
 */
export function validateUpgrade(change: ContainerUpgrade, field = 'change'): CheckedUpgrade {
  if (!change || typeof change !== 'object') throw invalidSpec(`${field} must be an object`);
  const { image, command, args, env } = change;
  if (image === undefined && command === undefined && args === undefined && env === undefined)
    throw invalidSpec(`${field}: give at least one of image, command, args, env`);
  if (image !== undefined && (typeof image !== 'string' || image === ''))
    throw invalidSpec(`${field}.image must be a non-empty string, got ${JSON.stringify(image)}`);
  for (const [name, list] of [
    ['command', command],
    ['args', args],
  ] as const) {
    if (list !== undefined && !(Array.isArray(list) && list.every((a) => typeof a === 'string')))
      throw invalidSpec(`${field}.${name} must be a list of strings, got ${JSON.stringify(list)}`);
  }
  if (env === undefined) return { ...change, env: undefined };
  if (typeof env !== 'object' || env === null || Array.isArray(env))
    throw invalidSpec(`${field}.env must be an object of NAME: value, got ${JSON.stringify(env)}`);
  const text: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name))
      throw invalidSpec(`${field}.env: '${name}' is not an environment variable name`);
    if (typeof value === 'string') text[name] = value;
    else if (typeof value === 'number' && Number.isFinite(value)) text[name] = String(value);
    else throw invalidSpec(`${field}.env.${name} must be a string or a number, got ${JSON.stringify(value)}`);
  }
  return { ...change, env: text };
}

/** The fields an autoscaling update may set, before the adapter merges them into the current autoscaler. */
export function validateAutoscalingUpdate(change: AutoscalingUpdate, field = 'change'): void {
  for (const name of ['minReplicas', 'maxReplicas'] as const) {
    const v = change[name];
    if (v !== undefined && (!Number.isInteger(v) || v < 0))
      throw invalidSpec(`${field}.${name} must be an integer >= 0, got ${v}`);
  }
  if (change.threshold !== undefined && !(typeof change.threshold === 'number' && change.threshold > 0))
    throw invalidSpec(`${field}.threshold must be > 0, got ${change.threshold}`);
}
