/**
 * A real Kubernetes control plane on loopback, for tests and for a developer's machine:
 * etcd, kube-apiserver (RBAC, token auth, service-account signing keys), kube-controller-manager,
 * kube-scheduler and KWOK managing fake nodes, so Deployments get pods that the real scheduler
 * binds and KWOK marks Running/Ready, and Jobs complete. The CRDs from deploy/crds are installed.
 *
 * Binaries come from scripts/provision-k8s (cached in ~/.cache/scanflow/bin).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { binaryPath } from '../../../stack/binaries.js';
import { freePort } from '../../../stack/ports.js';
import { httpOk, ManagedProcess } from '../../../stack/process.js';
import { installCrds } from './crds.js';
import { createFakeNodes, defaultFakeNodes, type FakeNode } from './nodes.js';

export interface ControlPlaneOptions {
  workDir: string;
  logDir: string;
  /** Fake nodes to create (default: 3 nodes of 8 CPU / 16Gi in two zones). */
  nodes?: FakeNode[];
}

export interface ControlPlane {
  kubeconfigPath: string;
  /** https://127.0.0.1:port */
  server: string;
  /** Bearer token of a system:masters user (the admin of this throwaway cluster). */
  adminToken: string;
  nodes: FakeNode[];
  stop(): Promise<void>;
}

const crdDir = fileURLToPath(new URL('../../../../deploy/crds/', import.meta.url));
const kwokStages = fileURLToPath(new URL('./kwok-stages.yaml', import.meta.url));

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const { workDir, logDir } = opts;
  mkdirSync(workDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const started: ManagedProcess[] = [];
  const stop = async (): Promise<void> => {
    // Reverse order: clients of the API server first, etcd last.
    for (const p of started.reverse()) await p.stop(5_000);
    started.length = 0;
  };
  try {
    const [etcdPort, etcdPeerPort, apiPort, cmPort, schedPort, kwokPort] = await Promise.all(
      Array.from({ length: 6 }, () => freePort()),
    );
    const etcd = await ManagedProcess.start({
      name: 'etcd',
      command: binaryPath('etcd'),
      args: [
        `--data-dir=${join(workDir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
        // A throwaway test store: durability costs seconds of fsync on a busy disk.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      logFile: join(logDir, 'etcd.log'),
      ready: () => httpOk(`http://127.0.0.1:${etcdPort}/health`),
    });
    started.push(etcd);

    // Service-account signing keys: the API server signs TokenRequest tokens with them and
    // the controller-manager mints ServiceAccount tokens.
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saPub = join(workDir, 'sa.pub');
    const saKey = join(workDir, 'sa.key');
    writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const adminToken = randomBytes(24).toString('hex');
    const tokenFile = join(workDir, 'tokens.csv');
    writeFileSync(tokenFile, `${adminToken},scanflow-admin,scanflow-admin,"system:masters"\n`, { mode: 0o600 });
    const certDir = join(workDir, 'certs');
    mkdirSync(certDir, { recursive: true });
    const server = `https://127.0.0.1:${apiPort}`;

    const apiserver = await ManagedProcess.start({
      name: 'kube-apiserver',
      command: binaryPath('kube-apiserver'),
      args: [
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        `--cert-dir=${certDir}`,
        `--secure-port=${apiPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        '--authorization-mode=RBAC',
        `--token-auth-file=${tokenFile}`,
        `--service-account-issuer=${server}/`,
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        // No kubelets: nothing to proxy logs/exec to, and no extra audit/profiling noise.
        '--profiling=false',
        '--v=0',
      ],
      logFile: join(logDir, 'kube-apiserver.log'),
      readyTimeoutMs: 90_000,
      ready: () => httpsOk(`${server}/readyz`, adminToken),
    });
    started.push(apiserver);

    const kubeconfigPath = join(workDir, 'kubeconfig');
    writeKubeconfig(kubeconfigPath, server, readFileSync(join(certDir, 'apiserver.crt')), adminToken);

    const common = [
      `--kubeconfig=${kubeconfigPath}`,
      `--authentication-kubeconfig=${kubeconfigPath}`,
      `--authorization-kubeconfig=${kubeconfigPath}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      '--v=0',
    ];
    const [controllerManager, scheduler, kwok] = await Promise.all([
      ManagedProcess.start({
        name: 'kube-controller-manager',
        command: binaryPath('kube-controller-manager'),
        args: [
          ...common,
          `--secure-port=${cmPort}`,
          `--cert-dir=${join(workDir, 'cm-certs')}`,
          `--service-account-private-key-file=${saKey}`,
          `--root-ca-file=${join(certDir, 'apiserver.crt')}`,
          '--use-service-account-credentials=false',
          '--service-cluster-ip-range=10.0.0.0/24',
          // Fast node health reactions so a test's "node goes NotReady" is seen within seconds.
          '--node-monitor-period=1s',
          '--node-monitor-grace-period=20s',
          '--concurrent-deployment-syncs=10',
          '--concurrent-replicaset-syncs=10',
          '--concurrent-job-syncs=10',
        ],
        logFile: join(logDir, 'kube-controller-manager.log'),
        ready: () => httpsOk(`https://127.0.0.1:${cmPort}/healthz`),
      }),
      ManagedProcess.start({
        name: 'kube-scheduler',
        command: binaryPath('kube-scheduler'),
        args: [...common, `--secure-port=${schedPort}`, `--cert-dir=${join(workDir, 'sched-certs')}`],
        logFile: join(logDir, 'kube-scheduler.log'),
        ready: () => httpsOk(`https://127.0.0.1:${schedPort}/healthz`),
      }),
      ManagedProcess.start({
        name: 'kwok',
        command: binaryPath('kwok'),
        args: [
          `--kubeconfig=${kubeconfigPath}`,
          `--config=${kwokStages}`,
          '--manage-all-nodes=false',
          '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
          `--server-address=127.0.0.1:${kwokPort}`,
          '--node-lease-duration-seconds=40',
        ],
        logFile: join(logDir, 'kwok.log'),
        ready: () => httpOk(`http://127.0.0.1:${kwokPort}/healthz`),
      }),
    ]);
    started.push(controllerManager, scheduler, kwok);

    const nodes = opts.nodes ?? defaultFakeNodes();
    await Promise.all([
      createFakeNodes(kubeconfigPath, nodes),
      installCrds(
        kubeconfigPath,
        readdirSync(crdDir)
          .filter((f) => f.endsWith('.yaml'))
          .sort()
          .map((f) => join(crdDir, f)),
      ),
      waitForDefaultServiceAccount(server, adminToken),
    ]);
    return { kubeconfigPath, server, adminToken, nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A kubeconfig with the admin token. The API server's self-signed serving certificate file
 * also carries the CA it was signed with, so the file serves as the CA bundle.
 */
function writeKubeconfig(path: string, server: string, caPem: Buffer, token: string): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'scanflow-test', cluster: { server, 'certificate-authority-data': caPem.toString('base64') } }],
    users: [{ name: 'scanflow-admin', user: { token } }],
    contexts: [
      { name: 'scanflow-test', context: { cluster: 'scanflow-test', user: 'scanflow-admin', namespace: 'default' } },
    ],
    'current-context': 'scanflow-test',
  };
  // JSON is YAML: kubectl, client-node and KWOK all read it.
  writeFileSync(path, JSON.stringify(config, null, 2), { mode: 0o600 });
}

/** GET over TLS without verifying (the servers' self-signed certificates are minted at start). */
function httpsOk(url: string, token?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { rejectUnauthorized: false, timeout: 2_000, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (res) => {
        res.resume();
        resolve((res.statusCode ?? 500) < 300);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** The controller-manager creates the "default" ServiceAccount per namespace; pods need it. */
async function waitForDefaultServiceAccount(server: string, token: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await httpsOk(`${server}/api/v1/namespaces/default/serviceaccounts/default`, token)) return;
    await sleep(200);
  }
  throw new Error(
    'the controller-manager did not create the default ServiceAccount within 60 s (see kube-controller-manager.log)',
  );
}
