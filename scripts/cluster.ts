/**
 * Starts the local Kubernetes control plane by hand (etcd, kube-apiserver, controller-manager,
 * scheduler, KWOK with 3 fake nodes, Scanflow's CRDs) and keeps it up until Ctrl-C.
 *
 *   npx tsx scripts/cluster.ts [--dir DIR]
 *   KUBECONFIG=DIR/kubeconfig kubectl get nodes   (the path is printed)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from '../src/platform/kubernetes/control-plane/start.js';

async function run(): Promise<void> {
  const dirFlag = process.argv.indexOf('--dir');
  const dir =
    dirFlag >= 0 && process.argv[dirFlag + 1]
      ? process.argv[dirFlag + 1]!
      : mkdtempSync(join(tmpdir(), 'scanflow-cluster-'));
  const t0 = Date.now();
  const cluster = await startControlPlane({ workDir: join(dir, 'state'), logDir: join(dir, 'logs') });
  console.log(`control plane up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`  export KUBECONFIG=${cluster.kubeconfigPath}`);
  console.log(`  nodes: ${cluster.nodes.map((n) => n.name).join(', ')}; logs: ${join(dir, 'logs')}`);
  console.log('Ctrl-C stops it.');
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    cluster.stop().then(
      () => process.exit(0),
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
  console.error(err);
  process.exit(1);
});
