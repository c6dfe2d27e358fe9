/**
 * The `nodes` component of the test harness: the project's image (scripts/build-image, cached by
 * content), then the control plane with real nodes that run it (src/platform/kubernetes/control-plane
 * /real-nodes.ts), beside the KWOK nodes. The real nodes carry the taint scanflow.io/real-node, so
 * suites written for KWOK nodes never land there; suites in test/nodes tolerate it (realPodSpec).
 *
 * Tests reach it through SCANFLOW_TEST_KUBECONFIG (the same cluster as the `kubernetes` component)
 * and SCANFLOW_TEST_NODES (JSON: image, nodes, control URL). The control URL is a loopback HTTP
 * endpoint of the jest parent process that stops and restarts a node's kubelet (failure tests),
 * since only that process holds the kubelets.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { ControlPlane } from '../../src/platform/kubernetes/control-plane/start.js';
import type { RealNode } from '../../src/platform/kubernetes/control-plane/real-nodes.js';

export interface BuiltImage {
  ref: string;
  tag: string;
  archive: string;
  bytes: number;
  seconds: number;
  cached: boolean;
}

/** What SCANFLOW_TEST_NODES carries to the test files. */
export interface NodesTestInfo {
  image: BuiltImage;
  nodes: RealNode[];
  control: string;
  timings: { imageSeconds: number; clusterSeconds: number; nodeReadySeconds: Record<string, number> };
}

const buildScript = fileURLToPath(new URL('../../scripts/build-image', import.meta.url));

/** scripts/build-image --json (its progress goes to this process's stderr). */
export function buildImage(): Promise<BuiltImage> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'bash',
      [buildScript, '--json'],
      { maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`scripts/build-image failed: ${err.message}\n${String(stderr).slice(-3_000)}`));
          return;
        }
        try {
          resolve(JSON.parse(String(stdout).trim().split('\n').pop() ?? '') as BuiltImage);
        } catch {
          reject(new Error(`scripts/build-image printed no JSON line: ${String(stdout).slice(-500)}`));
        }
      },
    );
    child.stderr?.on('data', (d: Buffer) => process.stderr.write(d));
  });
}

/** The loopback endpoint: POST /nodes/<name>/kubelet/stop|start. */
export function startNodeControl(cluster: ControlPlane): Promise<{ url: string; close(): Promise<void> }> {
  const real = cluster.realNodes;
  const server: Server = createServer((req, res) => {
    const m = /^\/nodes\/([a-z0-9-]+)\/kubelet\/(stop|start)$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m || !real) {
      res.writeHead(404).end('POST /nodes/<name>/kubelet/stop|start');
      return;
    }
    const [, name, action] = m;
    const job = action === 'stop' ? real.stopKubelet(name!, 'SIGKILL') : real.startKubelet(name!);
    job.then(
      () => res.writeHead(200).end('ok'),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            // Keep-alive connections of the test files would hold close() for seconds.
            server.closeAllConnections();
          }),
      });
    });
  });
}
