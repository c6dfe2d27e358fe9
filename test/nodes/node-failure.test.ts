/**
 * A real node failure: its kubelet is killed (SIGKILL, through the harness's control endpoint),
 * the node goes NotReady once its lease expires, the controller marks its pods not Ready, the
 * Service drops them, and requests through the Service keep succeeding on the other node. The
 * kubelet is started again at the end, and the node is Ready again for the suites after this one.
 */
import { describe, expect, it } from '@jest/globals';
import type { V1Node } from '@kubernetes/client-node';
import { deployReady, helloContainer, helloService, http, kubelet, realPodSpec, waitFor } from './support.js';
import { nodesSuite } from './suite.js';

const readyStatus = (n: V1Node): string | undefined => n.status?.conditions?.find((x) => x.type === 'Ready')?.status;

describe('a real node whose kubelet dies', () => {
  let stopped: string | undefined;
  const suite = nodesSuite('nodes-failure', {
    // The stopped kubelet comes back before the namespace goes (the next suites need both nodes).
    cleanup: async () => {
      if (!stopped) return;
      const { c } = suite;
      await kubelet(c, stopped, 'start');
      await waitFor(
        `${stopped} Ready again`,
        90_000,
        async () => readyStatus(await c.core.readNode({ name: stopped! })) === 'True',
      );
    },
  });

  it('goes NotReady, its pod leaves the Service, and the Service keeps answering from the other node', async () => {
    const { c, ns } = suite;
    if (c.info.nodes.length < 2) throw new Error('this suite needs 2 real nodes (SCANFLOW_TEST_REAL_NODES >= 2)');
    const labels = { app: 'failover' };
    const pods = await deployReady(
      c,
      ns,
      'failover',
      realPodSpec([helloContainer(c)], {
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: 'kubernetes.io/hostname',
            whenUnsatisfiable: 'DoNotSchedule',
            labelSelector: { matchLabels: labels },
          },
        ],
      }),
      { replicas: 2 },
    );
    const url = `http://${await helloService(c, ns, 'failover')}/`;
    const answered = async (): Promise<Set<string>> => {
      const seen = new Set<string>();
      for (let i = 0; i < 12; i += 1) seen.add((await http(url)).body.split(' ')[0]!);
      return seen;
    };
    await waitFor('both pods answering through the Service', 30_000, async () => (await answered()).size === 2);

    const victim = pods[1]!;
    const survivor = pods[0]!;
    stopped = victim.spec!.nodeName!;
    const t0 = Date.now();
    await kubelet(c, stopped, 'stop');

    await waitFor(
      `${stopped} NotReady`,
      90_000,
      async () => readyStatus(await c.core.readNode({ name: stopped! })) !== 'True',
    );
    const notReadySeconds = (Date.now() - t0) / 1000;
    await waitFor(`pod ${victim.metadata!.name} marked not Ready`, 60_000, async () => {
      const p = await c.core.readNamespacedPod({ name: victim.metadata!.name!, namespace: ns });
      return p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'False');
    });
    // Its container still runs (only the kubelet died): every answer must now come from the survivor.
    await waitFor('the Service to answer only from the survivor', 30_000, async () => {
      const seen = await answered();
      return seen.size === 1 && seen.has(survivor.metadata!.name!);
    });
    process.stderr.write(
      `[nodes] kubelet of ${stopped} killed → node NotReady in ${notReadySeconds.toFixed(1)} s, traffic on ${survivor.spec?.nodeName} after ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    const failed = (await Promise.all(Array.from({ length: 20 }, () => http(url).then((r) => r.status)))).filter(
      (s) => s !== 200,
    );
    expect(failed).toEqual([]);
  }, 200_000);
});
