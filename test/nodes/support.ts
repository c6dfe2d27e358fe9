/**
 * What the real-node suites share: the cluster of the harness's `nodes` component, Kubernetes
 * clients, pod templates that go to real nodes (toleration + selector), polling, kubectl.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  type V1Container,
  type V1Pod,
  type V1PodSpec,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../../src/stack/wait.js';
import { binaryPath } from '../../src/stack/binaries.js';
import { loadKubeConfig, makeClients } from '../../src/platform/kubernetes/client.js';
import { CONTAINER } from '../../src/platform/kubernetes/manifests.js';
import { waitForDefaultServiceAccount } from '../../src/platform/kubernetes/namespace-ready.js';
import { FIELD_MANAGER, NamespacedObjects } from '../../src/platform/kubernetes/objects.js';
import {
  REAL_NODE_LABEL,
  REAL_NODE_TAINT,
  realNodeNamespaceAnnotations,
} from '../../src/platform/kubernetes/control-plane/real-nodes.js';
import { requireEnv } from '../harness/env.js';
import type { NodesTestInfo } from '../harness/nodes.js';

export function nodesInfo(): NodesTestInfo {
  return JSON.parse(requireEnv('SCANFLOW_TEST_NODES')) as NodesTestInfo;
}

export interface Cluster {
  info: NodesTestInfo;
  kubeconfig: string;
  core: CoreV1Api;
  apps: AppsV1Api;
}

export function cluster(): Cluster {
  const info = nodesInfo();
  const kubeconfig = requireEnv('SCANFLOW_TEST_KUBECONFIG');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return { info, kubeconfig, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}

/**
 * A namespace no other test uses; deleted by the caller's afterAll. With `realNodes`, every pod
 * created in it is admitted onto the real nodes (node selector + toleration from the namespace's
 * annotations), so the platform's own objects run there unchanged.
 */
export async function createNamespace(c: Cluster, prefix: string, opts: { realNodes?: boolean } = {}): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}`;
  await c.core.createNamespace({
    body: { metadata: { name, ...(opts.realNodes ? { annotations: realNodeNamespaceAnnotations() } : {}) } },
  });
  await waitForDefaultServiceAccount(c.core, name, 30_000);
  return name;
}

export async function deleteNamespace(c: Cluster, name: string): Promise<void> {
  try {
    await c.core.deleteNamespace({ name, gracePeriodSeconds: 0 });
  } catch {
    // already gone
  }
}

/** A pod spec that runs on the real nodes (they carry the scanflow.io/real-node taint). */
export function realPodSpec(containers: V1Container[], extra: Partial<V1PodSpec> = {}): V1PodSpec {
  return {
    nodeSelector: { [REAL_NODE_LABEL]: 'real' },
    tolerations: [{ key: REAL_NODE_TAINT.key, operator: 'Equal', value: REAL_NODE_TAINT.value, effect: 'NoSchedule' }],
    terminationGracePeriodSeconds: 2,
    enableServiceLinks: false,
    securityContext: { runAsNonRoot: true, runAsUser: 1000 },
    ...extra,
    containers,
  };
}

/** A container of the project's image with imagePullPolicy Never (no registry here). */
export function imageContainer(c: Cluster, spec: Omit<V1Container, 'image' | 'imagePullPolicy'>): V1Container {
  return {
    ...spec,
    image: c.info.image.ref,
    imagePullPolicy: 'Never',
    env: [{ name: 'HOME', value: '/tmp' }, ...(spec.env ?? [])],
  };
}

/** A tiny HTTP server (node in the project's image) answering its pod name on 8080. */
export function helloContainer(c: Cluster): V1Container {
  return imageContainer(c, {
    name: 'hello',
    command: [
      'node',
      '-e',
      "require('http').createServer((q, s) => s.end(process.env.POD + ' ' + (require('fs').readFileSync('/proc/self/status', 'utf8').match(/Cpus_allowed_list:\\s*(\\S+)/) || [])[1])).listen(8080)",
    ],
    env: [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
    ports: [{ containerPort: 8080 }],
    readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
    resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { memory: '128Mi' } },
  });
}

export { waitFor };

export function podReady(p: V1Pod): boolean {
  return p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false;
}

/** The Ready pods of a selector once there are at least `count` of them (undefined before). */
export async function readyPods(
  c: Cluster,
  namespace: string,
  selector: string,
  count: number,
): Promise<V1Pod[] | undefined> {
  const list = await c.core.listNamespacedPod({ namespace, labelSelector: selector });
  const ready = list.items.filter((p) => podReady(p) && !p.metadata?.deletionTimestamp);
  return ready.length >= count ? ready : undefined;
}

/**
 * A Deployment `name` of `replicas` pods labelled app=<name> running `spec`, and its pods once
 * that many are Ready; on a timeout the error carries what happened to the namespace's pods.
 */
export async function deployReady(
  c: Cluster,
  namespace: string,
  name: string,
  spec: V1PodSpec,
  o: { replicas?: number; timeoutMs?: number } = {},
): Promise<V1Pod[]> {
  const labels = { app: name };
  const replicas = o.replicas ?? 1;
  await c.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name },
      spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec } },
    },
  });
  return waitFor(`${replicas} Ready pod(s) of ${name}`, o.timeoutMs ?? 90_000, () =>
    readyPods(c, namespace, `app=${name}`, replicas),
  ).catch(async (err: unknown) => {
    throw new Error(`${String(err)}\n${await describePods(c, namespace)}`);
  });
}

/** A Service `name` in front of the pods labelled app=<name>, port 80 → the hello container's 8080; its cluster IP. */
export async function helloService(c: Cluster, namespace: string, name: string): Promise<string> {
  const svc = await c.core.createNamespacedService({
    namespace,
    body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] } },
  });
  return svc.spec?.clusterIP ?? '';
}

/** What happened to a pod that does not get Ready: its events and container states, for the message. */
export async function describePods(c: Cluster, namespace: string): Promise<string> {
  const pods = await c.core.listNamespacedPod({ namespace });
  const events = await c.core.listNamespacedEvent({ namespace });
  return [
    ...pods.items.map(
      (p) =>
        `${p.metadata?.name} on ${p.spec?.nodeName}: ${p.status?.phase} ${JSON.stringify(p.status?.containerStatuses?.map((s) => s.state))}`,
    ),
    ...events.items.map((e) => `${e.involvedObject.name}: ${e.reason} ${e.message}`),
  ].join('\n');
}

/** The provisioned kubectl against the test cluster. */
export function kubectl(c: Cluster, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      binaryPath('kubectl'),
      [`--kubeconfig=${c.kubeconfig}`, ...args],
      { timeout: timeoutMs },
      (err, stdout, stderr) =>
        err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}

/**
 * An HTTP request from this host (to a pod or Service IP on the nodes' bridges), on a new
 * connection each time so that kube-proxy picks a backend per request (fetch would keep one).
 */
export function http(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: init.method ?? 'GET', headers: init.headers, agent: false, timeout: init.timeoutMs ?? 5_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${init.timeoutMs ?? 5_000} ms`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Stops (SIGKILL) or restarts a node's kubelet through the harness's control endpoint. */
export async function kubelet(c: Cluster, node: string, action: 'stop' | 'start'): Promise<void> {
  const res = await fetch(`${c.info.control}/nodes/${node}/kubelet/${action}`, {
    method: 'POST',
    signal: AbortSignal.timeout(120_000),
  });
  if (!res.ok) throw new Error(`kubelet ${action} ${node}: ${res.status} ${await res.text()}`);
}

/** CPUs in a Linux list ("0-2,5") as a set. */
export function cpuSet(list: string): Set<number> {
  const out = new Set<number>();
  for (const part of list.trim().split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let x = a!; x <= (b ?? a!); x += 1) out.add(x);
  }
  return out;
}

export interface LoadResult {
  /** Successful answers per second of the run, by the key `classify` gave each answer. */
  perSecond: Array<Record<string, number>>;
  ok: number;
  failed: number;
  errors: string[];
  seconds: number;
  /** ms since the start of the run of each answer, by key (first and last). */
  first: Record<string, number>;
  last: Record<string, number>;
}

/**
 * A closed-loop client from this host: `concurrency` loops, each sending the next request as soon
 * as the previous one is answered, every request on a new connection (kube-proxy chooses a backend
 * per connection), until `stop()` resolves or `durationMs` passes.
 */
export async function closedLoop(opts: {
  url: string;
  body: string;
  concurrency: number;
  durationMs?: number;
  stop?: Promise<unknown>;
  classify?: (body: string) => string;
  timeoutMs?: number;
}): Promise<LoadResult> {
  const t0 = Date.now();
  const end = opts.durationMs !== undefined ? t0 + opts.durationMs : Infinity;
  let stopped = false;
  void opts.stop?.then(() => {
    stopped = true;
  });
  const r: LoadResult = { perSecond: [], ok: 0, failed: 0, errors: [], seconds: 0, first: {}, last: {} };
  const classify = opts.classify ?? ((): string => 'ok');
  const loop = async (): Promise<void> => {
    while (!stopped && Date.now() < end) {
      try {
        const res = await http(opts.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: opts.body,
          timeoutMs: opts.timeoutMs ?? 10_000,
        });
        if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 120)}`);
        const key = classify(res.body);
        const at = Date.now() - t0;
        const sec = Math.floor(at / 1000);
        while (r.perSecond.length <= sec) r.perSecond.push({});
        r.perSecond[sec]![key] = (r.perSecond[sec]![key] ?? 0) + 1;
        r.first[key] ??= at;
        r.last[key] = at;
        r.ok += 1;
      } catch (err) {
        r.failed += 1;
        if (r.errors.length < 10) r.errors.push(String(err));
        await sleep(20);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, loop));
  r.seconds = (Date.now() - t0) / 1000;
  return r;
}

/** The 1-minute load average, for figures measured on a shared machine. */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!;
}

/** A file inside a pod's container, read with the image's node (kubectl exec). */
export async function readInPod(c: Cluster, namespace: string, pod: string, files: string[]): Promise<string[]> {
  const script = `const f=require('fs');console.log(JSON.stringify(${JSON.stringify(files)}.map(p=>{try{return f.readFileSync(p,'utf8').trim()}catch(e){return 'ERR '+e.code}})))`;
  const out = await kubectl(c, ['exec', '-n', namespace, pod, '--', 'node', '-e', script], 60_000);
  return JSON.parse(out.trim().split('\n').pop()!) as string[];
}

/**
 * Mounts a host directory (the model store) at /store in the main container of a Deployment the
 * platform generated, applied under its own field manager so that the primitives' fields stay theirs
 * (on a real cluster the store is S3; here the pods read the test's directory).
 */
export async function mountStore(c: Cluster, namespace: string, deployment: string, dir: string): Promise<void> {
  const objects = new NamespacedObjects(namespace, makeClients(loadKubeConfig(c.kubeconfig)));
  await objects.apply(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: deployment, namespace },
      spec: {
        template: {
          spec: {
            volumes: [{ name: 'store', hostPath: { path: dir, type: 'Directory' } }],
            containers: [{ name: CONTAINER, volumeMounts: [{ name: 'store', mountPath: '/store', readOnly: true }] }],
          },
        },
      },
    },
    `${FIELD_MANAGER}-test-store`,
  );
}
