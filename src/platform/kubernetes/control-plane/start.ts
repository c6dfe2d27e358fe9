/**
 * A real Kubernetes control plane on loopback, for tests and for a developer's machine:
 * etcd, kube-apiserver (RBAC, token auth, service-account signing keys), kube-controller-manager,
 * kube-scheduler and KWOK managing fake nodes, so Deployments get pods that the real scheduler
 * binds and KWOK marks Running/Ready, and Jobs complete. The CRDs from deploy/crds are installed.
 *
 * With `realNodes`, real worker nodes join beside the KWOK ones (real-nodes.ts: containerd +
 * kubelet per node, bridge CNI, kube-proxy): the API server then binds the host bridge's address
 * (pods reach it through the `kubernetes` Service) with Node + RBAC authorization, and authenticates
 * the kubelets and kube-proxy by token. Without it (the default) nothing changes: loopback only.
 *
 * Binaries come from scripts/provision-k8s and scripts/provision-nodes (cached in ~/.cache/scanflow).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { binaryPath } from '../../../stack/binaries.js';
import { freePort } from '../../../stack/ports.js';
import { httpOk, ManagedProcess } from '../../../stack/process.js';
import { missingAddons, startClusterDns, startMetricsServer } from './addons.js';
import { missingKeda, startKeda } from './keda.js';
import { installCrds } from './crds.js';
import { httpsOk } from './host.js';
import { createFakeNodes, defaultFakeNodes, type FakeNode } from './nodes.js';
import { createNodePki, FRONT_PROXY_CLIENT } from './pki.js';
import {
  checkRealNodePrerequisites,
  claimMachine,
  nodeNetwork,
  prepareHostNetwork,
  realNodeTokens,
  recordPid,
  releaseMachine,
  startRealNodes,
  type RealNodeCluster,
  type RealNodesOptions,
} from './real-nodes.js';

export interface ControlPlaneOptions {
  workDir: string;
  logDir: string;
  /** Fake nodes to create (default: 3 nodes of 8 CPU / 16Gi in two zones). */
  nodes?: FakeNode[];
  /** Real nodes beside the fake ones (default none: a KWOK-only cluster on loopback). */
  realNodes?: RealNodesOptions;
  /** Progress lines (real nodes: image imports, node Ready times). */
  log?: (line: string) => void;
}

export interface ControlPlane {
  kubeconfigPath: string;
  /** https://127.0.0.1:port */
  server: string;
  /** Bearer token of a system:masters user (the admin of this throwaway cluster). */
  adminToken: string;
  nodes: FakeNode[];
  /** The real nodes, when asked for: their names, IPs, CPUs, and kubelet stop/start for failure tests. */
  realNodes?: RealNodeCluster;
  /** Seconds from the call to a serving API server, and to the whole cluster ready. */
  timings: { apiServerSeconds: number; totalSeconds: number };
  stop(): Promise<void>;
}

const crdDir = fileURLToPath(new URL('../../../../deploy/crds/', import.meta.url));
const kwokStages = fileURLToPath(new URL('./kwok-stages.yaml', import.meta.url));

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const { workDir, logDir } = opts;
  const t0 = Date.now();
  const log = opts.log ?? ((): void => undefined);
  mkdirSync(workDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const started: ManagedProcess[] = [];
  let realNodes: RealNodeCluster | undefined;
  let claimed = false;
  let realStart: Promise<RealNodeCluster> | undefined;
  // Add-ons started beside the nodes: stopped on failure even when not awaited yet.
  const pendingAddons: Array<Promise<ManagedProcess[]>> = [];
  const stop = async (): Promise<void> => {
    // Real nodes first (their kubelets talk to the API server while they remove pods), then
    // reverse order: clients of the API server first, etcd last.
    await realNodes?.stop();
    realNodes = undefined;
    for (const p of started.reverse()) await p.stop(5_000);
    started.length = 0;
  };
  const real = opts.realNodes;
  if (real) {
    if (!Number.isInteger(real.count) || real.count < 1 || real.count > 20)
      throw new Error(`realNodes.count must be an integer from 1 to 20, got ${real.count}`);
    const problems = checkRealNodePrerequisites();
    if (problems.length > 0) throw new Error(`real nodes cannot start here:\n  - ${problems.join('\n  - ')}`);
    await claimMachine(workDir, log);
    claimed = true;
  }
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
    if (claimed) recordPid(etcd.pid, 'etcd');

    // Service-account signing keys: the API server signs TokenRequest tokens with them and
    // the controller-manager mints ServiceAccount tokens.
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saPub = join(workDir, 'sa.pub');
    const saKey = join(workDir, 'sa.key');
    writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const adminToken = randomBytes(24).toString('hex');
    const tokenFile = join(workDir, 'tokens.csv');
    const nodeTokens = real ? realNodeTokens(real.count) : [];
    writeFileSync(
      tokenFile,
      [
        `${adminToken},scanflow-admin,scanflow-admin,"system:masters"`,
        ...nodeTokens.map((t) => `${t.token},${t.user},${t.uid},"${t.group}"`),
      ].join('\n') + '\n',
      { mode: 0o600 },
    );
    const certDir = join(workDir, 'certs');
    mkdirSync(certDir, { recursive: true });
    // Real nodes: pods must reach the API server, so it binds the host bridge's address (the host
    // reaches it there too); kubelets are authorized by the Node authorizer + NodeRestriction.
    const apiHost = real ? nodeNetwork.apiServerIp : '127.0.0.1';
    const server = `https://${apiHost}:${apiPort}`;
    const pki = real ? await createNodePki(join(workDir, 'node-pki')) : undefined;
    if (real) for (const w of await prepareHostNetwork(real.count)) log(`warning: ${w}`);

    const apiserver = await ManagedProcess.start({
      name: 'kube-apiserver',
      command: binaryPath('kube-apiserver'),
      args: [
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        `--cert-dir=${certDir}`,
        `--secure-port=${apiPort}`,
        `--bind-address=${apiHost}`,
        `--advertise-address=${apiHost}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        ...(pki
          ? [
              '--authorization-mode=Node,RBAC',
              // PodNodeSelector + PodTolerationRestriction: a namespace annotated with a node selector
              // and default tolerations puts every pod created in it (by the platform's primitives,
              // which know nothing of this cluster) on the real nodes; see realNodesNamespace().
              '--enable-admission-plugins=NodeRestriction,PodNodeSelector,PodTolerationRestriction',
              `--kubelet-client-certificate=${pki.kubeletClientCert}`,
              `--kubelet-client-key=${pki.kubeletClientKey}`,
              '--kubelet-preferred-address-types=InternalIP',
              // The aggregation layer (metrics.k8s.io from metrics-server, a process on this host):
              // the API server proxies to the APIService's endpoint with its front-proxy client cert.
              `--requestheader-client-ca-file=${pki.caCert}`,
              `--requestheader-allowed-names=${FRONT_PROXY_CLIENT}`,
              '--requestheader-username-headers=X-Remote-User',
              '--requestheader-group-headers=X-Remote-Group',
              '--requestheader-extra-headers-prefix=X-Remote-Extra-',
              `--proxy-client-cert-file=${pki.frontProxyClientCert}`,
              `--proxy-client-key-file=${pki.frontProxyClientKey}`,
              '--enable-aggregator-routing=true',
            ]
          : ['--authorization-mode=RBAC']),
        `--token-auth-file=${tokenFile}`,
        `--service-account-issuer=${server}/`,
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        '--profiling=false',
        '--v=0',
      ],
      logFile: join(logDir, 'kube-apiserver.log'),
      readyTimeoutMs: 90_000,
      ready: () => httpsOk(`${server}/readyz`, adminToken),
    });
    started.push(apiserver);
    if (claimed) recordPid(apiserver.pid, 'kube-apiserver');
    const apiServerSeconds = (Date.now() - t0) / 1000;
    log(`API server ready in ${apiServerSeconds.toFixed(1)} s at ${server}`);

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
          // HPAs (real nodes + metrics-server) react in seconds, not in the default 15 s.
          '--horizontal-pod-autoscaler-sync-period=5s',
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
    if (claimed)
      for (const [p, b] of [
        [controllerManager, 'kube-controller-manager'],
        [scheduler, 'kube-scheduler'],
        [kwok, 'kwok'],
      ] as const)
        recordPid(p.pid, b);

    // Add-ons of a real-node cluster (addons.ts): cluster DNS before the kubelets (their clusterDNS),
    // metrics-server beside them (it scrapes whichever real nodes are up).
    const addonCtx = {
      server,
      adminToken,
      kubeconfigPath,
      bindIp: nodeNetwork.apiServerIp,
      workDir: join(workDir, 'addons'),
      logDir,
    };
    const withAddons = real !== undefined && real.addons !== false;
    const addonsMissing = withAddons ? missingAddons() : [];
    for (const m of addonsMissing) log(`warning: ${m}`);
    const has = (b: string): boolean => withAddons && !addonsMissing.some((m) => m.startsWith(`'${b}'`));
    let clusterDns: string | undefined;
    if (has('coredns')) {
      const t = Date.now();
      const dns = await startClusterDns(addonCtx);
      started.push(dns);
      if (claimed) recordPid(dns.pid, 'coredns');
      clusterDns = nodeNetwork.apiServerIp;
      log(`cluster DNS (CoreDNS) on ${clusterDns}:53 in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }

    const nodes = opts.nodes ?? defaultFakeNodes();
    realStart =
      real && pki
        ? startRealNodes(real, {
            workDir: join(workDir, 'nodes'),
            logDir,
            server,
            adminToken,
            apiCaPem: readFileSync(join(certDir, 'apiserver.crt')),
            clientCaFile: pki.caCert,
            tokens: nodeTokens,
            clusterDns,
            log,
          })
        : undefined;
    // Fail fast but never leave a half-started node set behind.
    realStart?.catch(() => undefined);
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
    const metricsStart = has('metrics-server') ? startMetricsServer(addonCtx) : undefined;
    metricsStart?.catch(() => undefined);
    if (metricsStart) pendingAddons.push(metricsStart.then((p) => [p]));
    // KEDA (keda.ts) once its CRDs are served, when provisioned: ScaledObjects then take effect.
    // Optional like its provisioning: a KEDA that fails to start is reported, and the cluster runs
    // without it (the KEDA suite says so; every other workload is unaffected).
    const wantKeda = withAddons && real.keda !== false;
    const kedaMissing = wantKeda ? missingKeda() : [];
    if (wantKeda && kedaMissing.length > 0)
      log(`KEDA not started, ScaledObjects will not be acted on: ${kedaMissing.join('; ')}`);
    const kedaStart =
      wantKeda && kedaMissing.length === 0
        ? startKeda(addonCtx).catch((err: unknown) => {
            log(`warning: KEDA did not start, ScaledObjects will not be acted on: ${String(err)}`);
            return undefined;
          })
        : undefined;
    if (kedaStart) pendingAddons.push(kedaStart.then((k) => (k ? [k.adapter, k.operator] : [])));
    realNodes = await realStart;
    for (const w of realNodes?.warnings ?? []) log(`warning: ${w}`);
    const keda = await kedaStart;
    if (keda) {
      started.push(keda.adapter, keda.operator);
      if (claimed) for (const p of [keda.operator, keda.adapter]) recordPid(p.pid, p.spec.name);
      log(
        `KEDA operator (gRPC metrics service ${keda.metricsService}) and metrics adapter serving external.metrics.k8s.io in ${keda.seconds.toFixed(1)} s`,
      );
    }
    if (metricsStart) {
      const t = Date.now();
      const ms = await metricsStart;
      started.push(ms);
      if (claimed) recordPid(ms.pid, 'metrics-server');
      log(
        `metrics-server serving metrics.k8s.io through the aggregation layer (${((Date.now() - t) / 1000).toFixed(1)} s after the nodes)`,
      );
    }
    return {
      kubeconfigPath,
      server,
      adminToken,
      nodes,
      realNodes,
      timings: { apiServerSeconds, totalSeconds: (Date.now() - t0) / 1000 },
      stop,
    };
  } catch (err) {
    if (realStart) realNodes = await realStart.catch(() => undefined);
    for (const a of await Promise.allSettled(pendingAddons))
      if (a.status === 'fulfilled') for (const p of a.value) if (!started.includes(p)) started.push(p);
    await stop();
    if (claimed && !realNodes) await releaseMachine();
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
