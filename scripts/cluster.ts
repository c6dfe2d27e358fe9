/**
 * Starts the local Kubernetes control plane by hand (etcd, kube-apiserver, controller-manager,
 * scheduler, KWOK with 3 fake nodes, Scanflow's CRDs) and keeps it up until Ctrl-C.
 *
 *   npm run cluster [-- --dir DIR]              KWOK only: pods are scheduled, no container runs
 *   npm run cluster -- --nodes 2 [--memory 3Gi] [--no-image] [--taint-real]
 *       + 2 real nodes (containerd + kubelet, each pinned to its own CPU, bridge CNI, kube-proxy)
 *       that run Scanflow's image, built first by scripts/build-image (cached by content) and
 *       loaded into every node. KWOK nodes stay, tainted kwok.x-k8s.io/node=fake:NoSchedule so
 *       that only pods which tolerate it go there (--taint-real taints the real nodes instead).
 *   KUBECONFIG=DIR/state/kubeconfig kubectl get nodes   (the path is printed)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startControlPlane } from '../src/platform/kubernetes/control-plane/start.js';
import { defaultFakeNodes } from '../src/platform/kubernetes/control-plane/nodes.js';
import { parseQuantity } from '../src/platform/kubernetes/control-plane/quantity.js';

interface BuiltImage {
  ref: string;
  archive: string;
  bytes: number;
  seconds: number;
  cached: boolean;
}

/** scripts/build-image --json: the image of this checkout, built or found in the cache. */
function buildImage(): BuiltImage {
  const script = new URL('./build-image', import.meta.url).pathname;
  const out = execFileSync('bash', [script, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as BuiltImage;
}

async function run(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      nodes: { type: 'string', default: '0' },
      memory: { type: 'string', default: '3Gi' },
      'no-image': { type: 'boolean', default: false },
      'taint-real': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      'npm run cluster -- [--dir DIR] [--nodes N] [--memory 3Gi] [--no-image] [--taint-real]\n' +
        '  --nodes N      N real nodes (containerd + kubelet, one CPU each) beside the KWOK nodes (needs root; bash scripts/provision nodes)\n' +
        "  --memory Q     each real node's memory limit and allocatable memory (default 3Gi)\n" +
        "  --no-image     do not build/load Scanflow's image (only the pause image)\n" +
        '  --taint-real   taint the real nodes (scanflow.io/real-node=true:NoSchedule) instead of the KWOK ones',
    );
    return;
  }
  const count = Number(values.nodes);
  if (!Number.isInteger(count) || count < 0 || count > 20)
    throw new Error(`--nodes must be an integer from 0 to 20, got ${JSON.stringify(values.nodes)}`);
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'scanflow-cluster-'));
  const t0 = Date.now();
  let image: BuiltImage | undefined;
  if (count > 0 && !values['no-image']) {
    image = buildImage();
    console.log(
      `image ${image.ref}: ${image.cached ? 'cached' : 'built'} in ${image.seconds} s, ${(image.bytes / 1024 ** 2).toFixed(0)} MiB`,
    );
  }
  const tCluster = Date.now();
  const taintKwok = count > 0 && !values['taint-real'];
  const cluster = await startControlPlane({
    workDir: join(dir, 'state'),
    logDir: join(dir, 'logs'),
    nodes: taintKwok
      ? defaultFakeNodes().map((n) => ({
          ...n,
          taints: [{ key: 'kwok.x-k8s.io/node', value: 'fake', effect: 'NoSchedule' }],
        }))
      : undefined,
    realNodes:
      count > 0
        ? {
            count,
            images: image ? [image.archive] : [],
            memoryBytes: parseQuantity(values.memory),
            taint: values['taint-real'],
          }
        : undefined,
    log: (line) => console.log(`  ${line}`),
  });
  const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  console.log(
    `control plane up in ${secs(Date.now() - tCluster)} (API server ${cluster.timings.apiServerSeconds.toFixed(1)} s)` +
      (image ? `, ${secs(Date.now() - t0)} with the image` : ''),
  );
  console.log(`  export KUBECONFIG=${cluster.kubeconfigPath}`);
  console.log(`  API server: ${cluster.server}`);
  console.log(
    `  KWOK nodes: ${cluster.nodes.map((n) => n.name).join(', ')}${taintKwok ? ' (tainted kwok.x-k8s.io/node=fake:NoSchedule)' : ''}`,
  );
  for (const n of cluster.realNodes?.nodes ?? [])
    console.log(
      `  real node ${n.name}: ${n.ip}, pods on CPU ${n.cpus}, pod subnet ${n.podCidr}, crictl -r unix://${n.runtimeSocket}`,
    );
  if (image)
    console.log(
      `  image: ${image.ref} (imagePullPolicy: Never), e.g. kubectl run oip --image=${image.ref} --image-pull-policy=Never -- serve --help`,
    );
  if (count > 0)
    console.log(
      '  pods and Services (ClusterIP, via kube-proxy) answer from this machine: curl http://<pod or service IP>:<port>/',
    );
  console.log(`  logs: ${join(dir, 'logs')}`);
  console.log('Ctrl-C stops it (real nodes: pods removed, then containerd, cgroups, bridges).');
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    const t = Date.now();
    cluster.stop().then(
      () => {
        console.log(`stopped in ${secs(Date.now() - t)}`);
        process.exit(0);
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

run().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
