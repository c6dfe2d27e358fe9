/** Fake nodes for KWOK: Node objects with labels and capacity, annotated so KWOK manages them. */
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';

export interface FakeNode {
  name: string;
  labels: Record<string, string>;
  cpu: string;
  memory: string;
  pods?: number;
  /** Taints, e.g. kwok.x-k8s.io/node=fake:NoSchedule beside real nodes (only pods that tolerate it land here). */
  taints?: Array<{ key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }>;
}

export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

export function defaultFakeNodes(): FakeNode[] {
  return ['a', 'b', 'c'].map((suffix, i) => ({
    name: `kwok-node-${suffix}`,
    labels: { 'topology.kubernetes.io/zone': i < 2 ? 'zone-1' : 'zone-2', 'scanflow.io/pool': 'general' },
    cpu: '8',
    memory: '16Gi',
    pods: 110,
  }));
}

export function fakeNodeObject(node: FakeNode): V1Node {
  const capacity = { cpu: node.cpu, memory: node.memory, pods: String(node.pods ?? 110) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': node.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
        ...node.labels,
      },
    },
    ...(node.taints ? { spec: { taints: node.taints } } : {}),
    status: { allocatable: capacity, capacity },
  };
}

/** Create (or keep) the nodes; KWOK then heartbeats them and reports them Ready. */
export async function createFakeNodes(kubeconfigPath: string, nodes: FakeNode[]): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  for (const node of nodes) {
    try {
      await core.createNode({ body: fakeNodeObject(node) });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    const list = await core.listNode({ labelSelector: 'type=kwok' });
    const ready = new Set(
      list.items
        .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((n) => n.metadata?.name),
    );
    if (nodes.every((n) => ready.has(n.name))) return;
    if (Date.now() > deadline)
      throw new Error(
        `KWOK did not make nodes Ready within 60 s: ${nodes
          .filter((n) => !ready.has(n.name))
          .map((n) => n.name)
          .join(', ')} (see kwok.log)`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}
