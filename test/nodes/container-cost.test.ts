/**
 * The cost of the container path: requests/s of one model-server pod (the project's image on a
 * real node, pinned to that node's CPU) against the same server as a local process pinned to the
 * same CPU (taskset) with the same CPU weight (cgroup cpu.shares), same store, same flags, same closed-loop client from this host. The pod is
 * measured at its IP (container, veth, bridge) and through its Service (plus kube-proxy's DNAT).
 */
import { describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/stack/ports.js';
import { httpOk, ManagedProcess } from '../../src/stack/process.js';
import { inferBody } from '../serving/fixtures.js';
import {
  closedLoop,
  describePods,
  http,
  imageContainer,
  loadAverage,
  readyPods,
  realPodSpec,
  waitFor,
} from './support.js';
import { nodesSuite, storeVolume } from './suite.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const BODY = inferBody(16);
const CONCURRENCY = 4;
const MEASURE_MS = 8_000;

describe('one model-server pod vs the same server as a local process', () => {
  let local: ManagedProcess | undefined;
  const suite = nodesSuite('nodes-cost', {
    modelVersions: 1,
    cleanup: async () => {
      await local?.stop(10_000);
      try {
        rmdirSync('/sys/fs/cgroup/cpu/scanflow-local-bench');
      } catch {
        // not created, or still busy
      }
    },
  });

  it('measures requests/s of both on the same CPU', async () => {
    const { c, ns, storeDir } = suite;
    const node = c.info.nodes[0]!;
    const labels = { app: 'cost' };
    const flags = ['--store', '/store', '--model', 'mnist', '--host', '0.0.0.0', '--port', '8080', '--no-log'];
    await c.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'cost' },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: realPodSpec(
              [
                imageContainer(c, {
                  name: 'model-server',
                  args: ['serve', ...flags],
                  ports: [{ name: 'http', containerPort: 8080 }],
                  readinessProbe: { httpGet: { path: '/v2/health/ready', port: 'http' }, periodSeconds: 1 },
                  resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
                  volumeMounts: [{ name: 'store', mountPath: '/store' }],
                }),
              ],
              {
                nodeSelector: { 'kubernetes.io/hostname': node.name },
                volumes: [storeVolume(storeDir)],
              },
            ),
          },
        },
      },
    });
    await c.core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'cost' }, spec: { selector: labels, ports: [{ port: 80, targetPort: 'http' }] } },
    });
    const [pod] = await waitFor('the model-server pod', 180_000, () => readyPods(c, ns, 'app=cost', 1)).catch(
      async (err: unknown) => {
        throw new Error(`${String(err)}\n${await describePods(c, ns)}`);
      },
    );
    const svc = await c.core.readNamespacedService({ name: 'cost', namespace: ns });
    const podUrl = `http://${pod!.status!.podIP}:8080/v2/models/mnist/infer`;
    const svcUrl = `http://${svc.spec!.clusterIP}/v2/models/mnist/infer`;
    await waitFor(
      'the Service to answer',
      30_000,
      async () => (await http(svcUrl, { method: 'POST', body: BODY })).status === 200,
    );

    const port = await freePort();
    local = await ManagedProcess.start({
      name: 'model-server (local)',
      command: 'taskset',
      args: [
        '-c',
        node.cpus,
        process.execPath,
        '--import',
        'tsx',
        join(repoRoot, 'src/serving/main.ts'),
        ...flags.map((f) =>
          f === '/store' ? storeDir : f === '0.0.0.0' ? '127.0.0.1' : f === '8080' ? String(port) : f,
        ),
      ],
      cwd: repoRoot,
      env: { ...process.env, NODE_OPTIONS: '', NODE_ENV: 'production', TF_CPP_MIN_LOG_LEVEL: '2' },
      logFile: join(storeDir, 'local-model-server.log'),
      readyTimeoutMs: 120_000,
      ready: () => httpOk(`http://127.0.0.1:${port}/v2/health/ready`),
    });
    // The same CPU weight as the node's cgroup tree (real-nodes.ts gives it 8192 shares), so that
    // on a busy machine the comparison measures the container path, not the scheduler's weights.
    const cg = '/sys/fs/cgroup/cpu/scanflow-local-bench';
    mkdirSync(cg, { recursive: true });
    writeFileSync(
      `${cg}/cpu.shares`,
      String(readFileSync(`/sys/fs/cgroup/cpu/${node.name}/cpu.shares`, 'utf8').trim()),
    );
    writeFileSync(`${cg}/cgroup.procs`, String(local.pid));
    const localUrl = `http://127.0.0.1:${port}/v2/models/mnist/infer`;

    const measure = async (url: string): Promise<{ rps: number; failed: number; la: string }> => {
      await closedLoop({ url, body: BODY, concurrency: CONCURRENCY, durationMs: 1_500 }); // warm-up
      const r = await closedLoop({ url, body: BODY, concurrency: CONCURRENCY, durationMs: MEASURE_MS });
      return { rps: r.ok / r.seconds, failed: r.failed, la: loadAverage() };
    };
    // Interleaved, twice, so a burst of the machine's other load does not favour one side.
    const runs = { local: [] as number[], pod: [] as number[], service: [] as number[] };
    const las: string[] = [];
    let failed = 0;
    for (let round = 0; round < 2; round += 1) {
      for (const [k, url] of [
        ['local', localUrl],
        ['pod', podUrl],
        ['service', svcUrl],
      ] as const) {
        const m = await measure(url);
        runs[k].push(m.rps);
        failed += m.failed;
        las.push(m.la);
      }
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    process.stderr.write(
      `[nodes] container cost (CPU ${node.cpus}, 16 images/request, ${CONCURRENCY} clients, 2 × ${MEASURE_MS / 1000} s each): local process ${mean(runs.local).toFixed(1)} req/s, pod at its IP ${mean(runs.pod).toFixed(1)} req/s (×${(mean(runs.pod) / mean(runs.local)).toFixed(2)}), through the Service ${mean(runs.service).toFixed(1)} req/s (×${(mean(runs.service) / mean(runs.local)).toFixed(2)}); runs ${JSON.stringify(runs)}; load avg ${las.join(', ')}\n`,
    );
    expect(failed).toBe(0);
    expect(mean(runs.pod)).toBeGreaterThan(0);
    expect(mean(runs.local)).toBeGreaterThan(0);
  }, 420_000);
});
