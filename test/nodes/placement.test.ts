/**
 * Real placement: required pod anti-affinity puts the two replicas of a workload on different
 * real nodes, and each node is a 1-CPU machine as far as its pods can tell (the static CPU
 * manager pins a node's pods to its CPU), so their CPU sets do not overlap. Checked from inside
 * the pods (kubectl exec: API server → kubelet → containerd) and from the host (the pod's answer).
 */
import { describe, expect, it } from '@jest/globals';
import { cpuSet, deployReady, helloContainer, http, kubectl, realPodSpec } from './support.js';
import { nodesSuite } from './suite.js';

describe('placement on real nodes', () => {
  const suite = nodesSuite('nodes-placement');

  it('anti-affinity puts two pods on different real nodes, on CPU sets that do not overlap', async () => {
    const { c, ns } = suite;
    if (c.info.nodes.length < 2) throw new Error('this suite needs 2 real nodes (SCANFLOW_TEST_REAL_NODES >= 2)');
    const labels = { app: 'spread' };
    const pods = await deployReady(
      c,
      ns,
      'spread',
      realPodSpec([helloContainer(c)], {
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' },
            ],
          },
        },
      }),
      { replicas: 2 },
    );
    const nodes = pods.map((p) => p.spec?.nodeName);
    expect(new Set(nodes).size).toBe(2);
    for (const n of nodes) expect(c.info.nodes.map((x) => x.name)).toContain(n);

    const sets: Array<Set<number>> = [];
    for (const p of pods) {
      const status = await kubectl(c, [
        'exec',
        '-n',
        ns,
        p.metadata!.name!,
        '--',
        'node',
        '-e',
        "process.stdout.write(require('fs').readFileSync('/proc/1/status', 'utf8'))",
      ]);
      const list = /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1];
      expect(list).toBeDefined();
      const node = c.info.nodes.find((x) => x.name === p.spec?.nodeName)!;
      // The node's CPU, and nothing else.
      expect([...cpuSet(list!)]).toEqual([...cpuSet(node.cpus)]);
      sets.push(cpuSet(list!));
      // The same answer over the pod network from the host.
      const answer = await http(`http://${p.status?.podIP}:8080/`);
      expect(answer.body).toBe(`${p.metadata!.name} ${list}`);
    }
    const overlap = [...sets[0]!].filter((x) => sets[1]!.has(x));
    expect(overlap).toEqual([]);
  }, 150_000);
});
