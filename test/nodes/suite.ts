/**
 * The frame every real-node suite repeats: its own namespace (optionally admitted onto the real
 * nodes for the platform's own objects), optionally a model store seeded with N versions of the
 * `mnist` model that pods mount from the host, all created before the suite's tests and removed
 * after them. Call inside a `describe`; the fields are readable from the tests on.
 */
import { afterAll, beforeAll } from '@jest/globals';
import type { V1Container, V1Volume } from '@kubernetes/client-node';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKnowledgeStore } from '../../src/knowledge/open-store.js';
import { seededRegistry } from '../serving/fixtures.js';
import { cluster, createNamespace, deleteNamespace, imageContainer, type Cluster } from './support.js';

export interface NodesSuite {
  readonly c: Cluster;
  readonly ns: string;
  /** The seeded model store on the host (only with `modelVersions`). */
  readonly storeDir: string;
}

export interface NodesSuiteOptions {
  /** Pods the platform creates in the namespace go to the real nodes (selector + toleration by annotation). */
  realNodes?: boolean;
  /** Seed a local model store with this many versions of `mnist` (pods mount it at /store). */
  modelVersions?: number;
  /** Runs before the namespace is deleted (stop what the suite started outside Kubernetes). */
  cleanup?: () => Promise<void>;
  teardownTimeoutMs?: number;
}

export function nodesSuite(prefix: string, opts: NodesSuiteOptions = {}): NodesSuite {
  let c: Cluster | undefined;
  let ns: string | undefined;
  let storeDir: string | undefined;
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`nodesSuite('${prefix}'): ${what} is not set up (read it inside a test)`);
    return value;
  };

  beforeAll(async () => {
    c = cluster();
    ns = await createNamespace(c, prefix, { realNodes: opts.realNodes });
    if (opts.modelVersions) {
      storeDir = mkdtempSync(join(tmpdir(), 'scanflow-nodes-store-'));
      await seededRegistry(openKnowledgeStore({ kind: 'local', directory: storeDir }), 'mnist', opts.modelVersions);
      // The pods run as uid 1000: let them read (and write their scratch files in) the host directory.
      chmodSync(storeDir, 0o777);
    }
  }, 60_000);

  afterAll(async () => {
    await opts.cleanup?.();
    if (c && ns) await deleteNamespace(c, ns);
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
  }, opts.teardownTimeoutMs ?? 120_000);

  return {
    get c() {
      return ready(c, 'the cluster');
    },
    get ns() {
      return ready(ns, 'the namespace');
    },
    get storeDir() {
      return ready(storeDir, 'the model store (pass modelVersions)');
    },
  };
}

/** The host directory of the seeded store as a pod volume named `store`. */
export function storeVolume(storeDir: string): V1Volume {
  return { name: 'store', hostPath: { path: storeDir, type: 'Directory' } };
}

/**
 * The model server of the project's image serving `mnist` from /store on 8080 (`http`), Ready by
 * /v2/health/ready; `extraArgs`, env, probes and resources can be added or overridden.
 */
export function modelServerContainer(
  c: Cluster,
  overrides: Partial<Omit<V1Container, 'image' | 'imagePullPolicy'>> & { extraArgs?: string[] } = {},
): V1Container {
  const { extraArgs = [], ...rest } = overrides;
  return imageContainer(c, {
    name: 'model-server',
    args: [
      'serve',
      '--store',
      '/store',
      '--model',
      'mnist',
      '--host',
      '0.0.0.0',
      '--port',
      '8080',
      '--no-log',
      ...extraArgs,
    ],
    ports: [{ name: 'http', containerPort: 8080 }],
    readinessProbe: { httpGet: { path: '/v2/health/ready', port: 'http' }, periodSeconds: 1 },
    resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
    volumeMounts: [{ name: 'store', mountPath: '/store' }],
    ...rest,
  });
}
