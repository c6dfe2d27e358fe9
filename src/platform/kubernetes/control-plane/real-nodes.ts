/**
 * Real worker nodes for the local control plane, all on this machine: per node a containerd
 * (Debian 1.6, its own root, state and socket) running pods with runc, the bridge CNI on its own
 * pod subnet, and a kubelet 1.34 pinned to its own CPU (static CPU manager: the other CPUs are
 * "reserved", so the node's pods run only on its CPU) under its own cgroup tree with a memory
 * limit; one kube-proxy (iptables) for the machine, since every node shares its network namespace.
 * Two nodes on a 2-core machine are two 1-CPU machines as far as their pods can tell.
 *
 * Needs root in a (privileged) Linux container or host with cgroup v1 writable, and what
 * `bash scripts/provision nodes` installs. One real-node cluster per machine at a time: a lock
 * file records what it started, so a crashed run is cleaned up by the next start.
 *
 * Teardown order matters (leaks otherwise): kubelets first, then pods through CRI (runs CNI DEL:
 * veths, netns, IPs), then containerd and its shims, kube-proxy --cleanup, cgroups, bridges, mounts.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readlinkSync, rmSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { binaryPath, cacheDir } from '../../../stack/binaries.js';
import { freePort } from '../../../stack/ports.js';
import { httpOk, ManagedProcess } from '../../../stack/process.js';
import { exists, httpsRequest, isRoot, mustRun, processAlive, readText, run, writeSys } from './host.js';
import { staleImageRefs, type ListedImage } from './image-refs.js';

export interface RealNodesOptions {
  /** Number of real nodes (1..20). */
  count: number;
  /** Image archives (docker-archive tarballs, e.g. from scripts/build-image) imported into every node. */
  images?: string[];
  /** Memory limit of each node's cgroup tree and its allocatable memory (default 3 GiB). */
  memoryBytes?: number;
  /**
   * Register the nodes with the taint `scanflow.io/real-node=true:NoSchedule`, so only pods that
   * tolerate it land there (keeps suites written for KWOK nodes off them). Default false.
   */
  taint?: boolean;
  /**
   * Cluster DNS (CoreDNS) and metrics-server (addons.ts), when their binaries are provisioned.
   * Default true; false starts neither.
   */
  addons?: boolean;
  /**
   * KEDA's operator and metrics adapter (keda.ts), when provisioned (scripts/provision-keda) and
   * `addons` is not false. Default true.
   */
  keda?: boolean;
}

export interface RealNode {
  name: string;
  /** The node's InternalIP, on the host bridge. */
  ip: string;
  /** The CPU(s) the node's pods run on, e.g. "1". */
  cpus: string;
  podCidr: string;
  /** containerd's CRI socket (crictl -r unix://…). */
  runtimeSocket: string;
  kubeletLog: string;
}

export const REAL_NODE_TAINT = { key: 'scanflow.io/real-node', value: 'true', effect: 'NoSchedule' } as const;
export const REAL_NODE_LABEL = 'scanflow.io/node-kind';
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10.1';

/**
 * Annotations that send every pod of a namespace to the real nodes (the API server runs the
 * PodNodeSelector and PodTolerationRestriction admission plugins when real nodes are on): the
 * node selector and the toleration of the real-node taint are added at admission, so objects
 * written by the platform's primitives, which name no node, run on real kubelets.
 */
export function realNodeNamespaceAnnotations(): Record<string, string> {
  return {
    'scheduler.alpha.kubernetes.io/node-selector': `${REAL_NODE_LABEL}=real`,
    'scheduler.alpha.kubernetes.io/defaultTolerations': JSON.stringify([
      { key: REAL_NODE_TAINT.key, operator: 'Equal', value: REAL_NODE_TAINT.value, effect: REAL_NODE_TAINT.effect },
    ]),
  };
}

/** The host network the nodes live on: one bridge holding the API server's and the nodes' IPs. */
export const nodeNetwork = {
  bridge: 'sfnodes0',
  apiServerIp: '10.99.0.1',
  nodeIp: (i: number): string => `10.99.0.${10 + i}`,
  podCidr: (i: number): string => `10.88.${i}.0/24`,
  podBridge: (i: number): string => `sfbr${i}`,
  clusterCidr: '10.88.0.0/16',
};
export const nodeName = (i: number): string => `scanflow-node-${i}`;

const NODE_CPU_SHARES = 8192;
const cgroupControllers = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'blkio', 'freezer', 'devices', 'systemd'];
const lockFile = (): string => join(process.env.SCANFLOW_NODES_LOCK_DIR ?? tmpdir(), 'scanflow-real-nodes.json');

interface LockState {
  owner: number;
  workDir: string;
  nodes: Array<{ name: string; index: number; dir: string; socket: string }>;
  /** Processes this cluster started, with the binary each runs (checked before a stale kill). */
  pids: Array<{ pid: number; binary: string }>;
}

export interface NodeToken {
  user: string;
  uid: string;
  group: string;
  token: string;
}

/** Token-file entries for the kubelets (system:node:<name>) and kube-proxy. */
export function realNodeTokens(count: number): NodeToken[] {
  const t = (): string => randomBytes(24).toString('hex');
  return [
    { user: 'system:kube-proxy', uid: 'kube-proxy', group: 'system:node-proxier', token: t() },
    ...Array.from({ length: count }, (_, k) => ({
      user: `system:node:${nodeName(k + 1)}`,
      uid: nodeName(k + 1),
      group: 'system:nodes',
      token: t(),
    })),
  ];
}

/** What a real-node start needs, named with the command that provisions it when missing. */
export function checkRealNodePrerequisites(): string[] {
  const problems: string[] = [];
  if (!isRoot()) problems.push('real nodes need root (kubelet, containerd, cgroups, bridges)');
  if (!exists('/sys/fs/cgroup/cpuset/cpuset.cpus'))
    problems.push(
      'cgroup v1 hierarchies are not mounted at /sys/fs/cgroup (kubelet 1.34 is configured for cgroup v1 here)',
    );
  for (const b of [
    'containerd',
    'containerd-shim-runc-v2',
    'runc',
    'ctr',
    'iptables',
    'kubelet',
    'kube-proxy',
    'crictl',
  ]) {
    try {
      binaryPath(b);
    } catch {
      problems.push(`'${b}' is missing: run 'bash scripts/provision nodes'`);
    }
  }
  for (const p of ['bridge', 'host-local', 'loopback', 'portmap'])
    if (!exists(join(cniBinDir(), p)))
      problems.push(`CNI plugin ${p} is missing from ${cniBinDir()}: run 'bash scripts/provision nodes'`);
  if (!exists(pauseArchive()))
    problems.push(`the pause image ${pauseArchive()} is missing: run 'bash scripts/provision nodes'`);
  for (const b of ['ip', 'taskset', 'openssl'])
    if (!['/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((d) => exists(join(d, b))))
      problems.push(`'${b}' is not installed (iproute2, util-linux, openssl)`);
  return problems;
}

const cniBinDir = (): string => join(cacheDir(), 'cni', 'bin');
const pauseArchive = (): string => join(cacheDir(), 'images', 'pause-3.10.1.tar');

/** CPUs of the machine as the root cpuset lists them ("0-1,3" → [0,1,3]). */
export function machineCpus(): number[] {
  const raw = (readText('/sys/fs/cgroup/cpuset/cpuset.cpus') ?? '').trim();
  const out: number[] = [];
  for (const part of raw.split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a!; c <= (b ?? a!); c += 1) out.push(c);
  }
  return out.length > 0 ? out : [0];
}

/**
 * Claims the machine for one real-node cluster. A lock left by a process that is gone is
 * cleaned up first (its processes, pods, cgroups, bridges, mounts); a live one is an error.
 */
export async function claimMachine(workDir: string, log: (line: string) => void): Promise<void> {
  const waitSeconds = Number(process.env.SCANFLOW_NODES_WAIT_SECONDS ?? '0');
  const deadline = Date.now() + (Number.isFinite(waitSeconds) && waitSeconds > 0 ? waitSeconds * 1000 : 0);
  await claimBefore(workDir, log, deadline);
}

async function claimBefore(workDir: string, log: (line: string) => void, deadline: number): Promise<void> {
  // Queue behind a live owner until the deadline; another waiter may claim the freed machine in
  // the same moment, which the read-back after our write below catches.
  await waitForLiveOwner(log, deadline);
  const existing = readLock();
  if (existing) {
    if (existing.owner !== process.pid && processAlive(existing.owner))
      throw new Error(
        `a real-node cluster is already running on this machine (process ${existing.owner}, ${existing.workDir}); stop it first (Ctrl-C its 'npm run cluster', or let its test run finish), or set SCANFLOW_NODES_WAIT_SECONDS to queue behind it`,
      );
    log(`cleaning up a real-node cluster left by process ${existing.owner} (${existing.workDir})`);
    await cleanupStale(existing);
  }
  writeLock({ owner: process.pid, workDir, nodes: [], pids: [] });
  // Two waiters can see the machine free in the same poll: the last write wins, and the other
  // one, reading someone else's claim back, queues again (or fails, without a wait).
  await sleep(250);
  const claimed = readLock();
  if (claimed && claimed.owner !== process.pid && processAlive(claimed.owner)) {
    if (Date.now() > deadline)
      throw new Error(`process ${claimed.owner} claimed the machine for its real-node cluster at the same moment`);
    await claimBefore(workDir, log, deadline);
  }
}

/**
 * With SCANFLOW_NODES_WAIT_SECONDS set, a start queues behind a live cluster of another process
 * (a test run, a demo) for up to that long instead of failing at once: the machine has one bridge
 * and one kube-proxy, so two real-node clusters cannot share it.
 */
async function waitForLiveOwner(log: (line: string) => void, deadline: number): Promise<void> {
  let said = false;
  for (;;) {
    const lock = readLock();
    if (!lock || lock.owner === process.pid || !processAlive(lock.owner) || Date.now() > deadline) return;
    if (!said)
      log(
        `waiting up to ${Math.round((deadline - Date.now()) / 1000)} s for the real-node cluster of process ${lock.owner} to stop`,
      );
    said = true;
    await sleep(2_000);
  }
}

/** Gives the machine back after a start that failed before any node started: bridge, lock. */
export async function releaseMachine(): Promise<void> {
  const lock = readLock();
  if (lock && lock.owner !== process.pid) return;
  await run('ip', ['link', 'del', nodeNetwork.bridge]);
  rmSync(lockFile(), { force: true });
}

function readLock(): LockState | undefined {
  const text = readText(lockFile());
  if (!text) return undefined;
  try {
    return JSON.parse(text) as LockState;
  } catch {
    return undefined;
  }
}

function writeLock(state: LockState): void {
  writeFileSync(lockFile(), JSON.stringify(state, null, 2));
}

/** Records a process of this cluster in the machine lock, so a start after a crash can stop it. */
export function recordPid(pid: number, binary: string): void {
  const s = readLock();
  if (!s) return;
  s.pids.push({ pid, binary });
  writeLock(s);
}

async function cleanupStale(state: LockState): Promise<void> {
  for (const { pid, binary } of state.pids) {
    const cmd = readText(`/proc/${pid}/cmdline`);
    if (cmd && cmd.includes(binary)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  await sleep(300);
  const nodes = state.nodes;
  for (const n of nodes) {
    // containerd is gone: start it briefly so the pods it knows are removed through CRI (CNI DEL).
    if (exists(join(n.dir, 'containerd.toml'))) {
      const p = await ManagedProcess.start({
        name: `containerd-${n.name}-cleanup`,
        command: binaryPath('containerd'),
        args: ['--config', join(n.dir, 'containerd.toml')],
        logFile: join(n.dir, 'containerd-cleanup.log'),
        ready: async () => (await run(binaryPath('ctr'), ['-a', n.socket, 'version'], 5_000)).code === 0,
      }).catch(() => undefined);
      await removePods(n.socket);
      await p?.stop(10_000);
      killShims(n.socket);
    }
  }
  await cleanupHost(
    state.workDir,
    nodes.map((n) => ({ name: n.name, index: n.index })),
  );
  rmSync(lockFile(), { force: true });
}

/** The host bridge with the API server's IP (kubelet refuses loopback node IPs), forwarding on. */
export async function prepareHostNetwork(count: number): Promise<string[]> {
  const warnings: string[] = [];
  const { bridge } = nodeNetwork;
  if ((await run('ip', ['link', 'show', bridge])).code !== 0)
    await mustRun('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await mustRun('ip', ['link', 'set', bridge, 'up']);
  await mustRun('ip', ['addr', 'replace', `${nodeNetwork.apiServerIp}/32`, 'dev', bridge]);
  for (let i = 1; i <= count; i += 1)
    await mustRun('ip', ['addr', 'replace', `${nodeNetwork.nodeIp(i)}/32`, 'dev', bridge]);
  for (const [path, value] of [
    ['/proc/sys/net/ipv4/ip_forward', '1'],
    // Pod → Service → a pod on the same bridge: the reply must pass the host's conntrack.
    ['/proc/sys/net/bridge/bridge-nf-call-iptables', '1'],
  ] as const) {
    const err = writeSys(path, value);
    if (err) warnings.push(err);
  }
  return warnings;
}

export interface RealNodesContext {
  workDir: string;
  logDir: string;
  /** https://<apiServerIp>:<port> */
  server: string;
  adminToken: string;
  /** The API server's serving certificate (CA bundle for the node kubeconfigs). */
  apiCaPem: Buffer;
  /** CA of the API server's kubelet client certificate. */
  clientCaFile: string;
  tokens: NodeToken[];
  /** The kubelets' clusterDNS (CoreDNS of addons.ts), if any. */
  clusterDns?: string;
  log: (line: string) => void;
}

export interface RealNodeCluster {
  nodes: RealNode[];
  /** Seconds each node took from its kubelet's start to Ready. */
  readySeconds: Record<string, number>;
  warnings: string[];
  /** Stops a node's kubelet (SIGKILL by default): the node goes NotReady after the grace period. */
  stopKubelet(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped kubelet again and waits until its node is Ready. */
  startKubelet(name: string): Promise<void>;
  stop(): Promise<void>;
}

interface NodeRuntime {
  node: RealNode;
  index: number;
  dir: string;
  cpu: number;
  containerd?: ManagedProcess;
  kubelet?: ManagedProcess;
  kubeletArgs: string[];
}

export async function startRealNodes(opts: RealNodesOptions, ctx: RealNodesContext): Promise<RealNodeCluster> {
  const cpus = machineCpus();
  const memoryBytes = opts.memoryBytes ?? 3 * 1024 ** 3;
  const warnings: string[] = [];
  const runtimes: NodeRuntime[] = [];
  let kubeProxy: ManagedProcess | undefined;
  const tokenOf = (user: string): string => {
    const t = ctx.tokens.find((x) => x.user === user);
    if (!t) throw new Error(`no token for ${user}`);
    return t.token;
  };
  const kubeconfig = (path: string, user: string): string => {
    writeKubeconfig(path, ctx.server, ctx.apiCaPem, tokenOf(user));
    return path;
  };

  const stop = async (): Promise<void> => {
    await Promise.all(runtimes.map((r) => r.kubelet?.stop(10_000)));
    await Promise.all(runtimes.map((r) => removePods(r.node.runtimeSocket)));
    await Promise.all(runtimes.map((r) => r.containerd?.stop(10_000)));
    for (const r of runtimes) killShims(r.node.runtimeSocket);
    await kubeProxy?.stop(5_000);
    await cleanupHost(
      ctx.workDir,
      runtimes.map((r) => ({ name: r.node.name, index: r.index })),
    );
    const lock = readLock();
    if (lock?.owner === process.pid) rmSync(lockFile(), { force: true });
  };

  try {
    for (let i = 1; i <= opts.count; i += 1) {
      const name = nodeName(i);
      const dir = join(ctx.workDir, name);
      mkdirSync(dir, { recursive: true });
      runtimes.push({
        index: i,
        dir,
        cpu: cpus[(i - 1) % cpus.length]!,
        kubeletArgs: [],
        node: {
          name,
          ip: nodeNetwork.nodeIp(i),
          cpus: String(cpus[(i - 1) % cpus.length]),
          podCidr: nodeNetwork.podCidr(i),
          runtimeSocket: join(dir, 'containerd.sock'),
          kubeletLog: join(ctx.logDir, `kubelet-${name}.log`),
        },
      });
    }
    const lock = readLock();
    if (lock) {
      lock.nodes = runtimes.map((r) => ({
        name: r.node.name,
        index: r.index,
        dir: r.dir,
        socket: r.node.runtimeSocket,
      }));
      writeLock(lock);
    }

    // containerd per node, images imported, in parallel.
    await Promise.all(
      runtimes.map(async (r) => {
        warnings.push(...setUpNodeCgroups(r.node.name, memoryBytes));
        r.containerd = await startContainerd(r, ctx);
        await importImages(r.node.runtimeSocket, [pauseArchive(), ...(opts.images ?? [])], ctx.log, r.node.name);
      }),
    );

    // kubelets
    const totalMemory = totalmem();
    const readySeconds: Record<string, number> = {};
    for (const r of runtimes) {
      const { name, ip } = r.node;
      const [healthzPort] = await Promise.all([freePort()]);
      const reserved = cpus.filter((c) => c !== r.cpu);
      const config = {
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        cgroupDriver: 'cgroupfs',
        cgroupRoot: `/${name}`,
        failSwapOn: false,
        failCgroupV1: false,
        containerRuntimeEndpoint: `unix://${r.node.runtimeSocket}`,
        address: ip,
        port: 10250,
        healthzBindAddress: '127.0.0.1',
        healthzPort,
        readOnlyPort: 0,
        staticPodPath: join(r.dir, 'manifests'),
        podLogsDir: join(r.dir, 'pod-logs'),
        authentication: {
          anonymous: { enabled: false },
          webhook: { enabled: true },
          x509: { clientCAFile: ctx.clientCaFile },
        },
        authorization: { mode: 'Webhook' },
        clusterDomain: 'cluster.local',
        ...(ctx.clusterDns ? { clusterDNS: [ctx.clusterDns] } : {}),
        resolvConf: '/etc/resolv.conf',
        podCIDR: r.node.podCidr,
        maxPods: 30,
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        evictionHard: {},
        enforceNodeAllocatable: [],
        makeIPTablesUtilChains: false,
        // Fast NotReady detection (lease renewed every 2.5 s) and pod status updates.
        nodeLeaseDurationSeconds: 10,
        nodeStatusUpdateFrequency: '4s',
        // Allocatable memory = the node cgroup's limit.
        systemReserved: { memory: String(Math.max(0, totalMemory - memoryBytes)) },
        ...(reserved.length > 0
          ? {
              cpuManagerPolicy: 'static',
              reservedSystemCPUs: reserved.join(','),
              cpuManagerPolicyOptions: { 'strict-cpu-reservation': 'true' },
            }
          : {}),
        registerWithTaints: opts.taint ? [REAL_NODE_TAINT] : [],
        shutdownGracePeriod: '0s',
      };
      if (reserved.length === 0) warnings.push(`${name}: one CPU on this machine, its pods are not pinned`);
      mkdirSync(join(r.dir, 'manifests'), { recursive: true });
      mkdirSync(join(r.dir, 'pod-logs'), { recursive: true });
      const configFile = join(r.dir, 'kubelet.json');
      writeFileSync(configFile, JSON.stringify(config, null, 2));
      r.kubeletArgs = [
        '-c',
        String(r.cpu),
        binaryPath('kubelet'),
        `--config=${configFile}`,
        `--kubeconfig=${kubeconfig(join(r.dir, 'kubelet.kubeconfig'), `system:node:${name}`)}`,
        `--root-dir=${join(r.dir, 'kubelet')}`,
        `--cert-dir=${join(r.dir, 'pki')}`,
        `--hostname-override=${name}`,
        `--node-ip=${ip}`,
        `--node-labels=${REAL_NODE_LABEL}=real,type=real`,
      ];
      const t = Date.now();
      r.kubelet = await startKubeletProcess(r, ctx);
      readySeconds[name] = (Date.now() - t) / 1000;
      ctx.log(
        `${name}: Ready in ${readySeconds[name]!.toFixed(1)} s after its kubelet started (CPU ${r.node.cpus}, ${ip})`,
      );
    }

    // One kube-proxy: every node shares this host's network namespace and iptables.
    const [metricsPort, healthzPort] = await Promise.all([freePort(), freePort()]);
    kubeProxy = await ManagedProcess.start({
      name: 'kube-proxy',
      command: binaryPath('kube-proxy'),
      args: [
        `--kubeconfig=${kubeconfig(join(ctx.workDir, 'kube-proxy.kubeconfig'), 'system:kube-proxy')}`,
        `--hostname-override=${runtimes[0]!.node.name}`,
        `--cluster-cidr=${nodeNetwork.clusterCidr}`,
        '--proxy-mode=iptables',
        `--metrics-bind-address=127.0.0.1:${metricsPort}`,
        `--healthz-bind-address=127.0.0.1:${healthzPort}`,
        '--conntrack-max-per-core=0',
        '--conntrack-tcp-timeout-established=0',
        '--conntrack-tcp-timeout-close-wait=0',
        '--nodeport-addresses=primary',
      ],
      logFile: join(ctx.logDir, 'kube-proxy.log'),
      ready: () => httpOk(`http://127.0.0.1:${healthzPort}/healthz`),
    });
    recordPid(kubeProxy.pid, 'kube-proxy');

    return {
      nodes: runtimes.map((r) => r.node),
      readySeconds,
      warnings,
      stop,
      async stopKubelet(name, signal = 'SIGKILL') {
        const r = runtimes.find((x) => x.node.name === name);
        if (!r?.kubelet) throw new Error(`no running kubelet for node ${name}`);
        if (signal === 'SIGKILL') await r.kubelet.stop(0);
        else await r.kubelet.stop(10_000);
        r.kubelet = undefined;
      },
      async startKubelet(name) {
        const r = runtimes.find((x) => x.node.name === name);
        if (!r) throw new Error(`no node ${name}`);
        if (r.kubelet) return;
        r.kubelet = await startKubeletProcess(r, ctx);
      },
    };
  } catch (err) {
    await stop().catch((e: unknown) => ctx.log(`cleanup after a failed start: ${String(e)}`));
    throw err;
  }
}

async function startKubeletProcess(r: NodeRuntime, ctx: RealNodesContext): Promise<ManagedProcess> {
  const p = await ManagedProcess.start({
    name: `kubelet ${r.node.name}`,
    command: 'taskset',
    args: r.kubeletArgs,
    logFile: r.node.kubeletLog,
    readyTimeoutMs: 90_000,
    ready: () => nodeReady(ctx.server, ctx.adminToken, r.node.name),
  });
  recordPid(p.pid, 'kubelet');
  return p;
}

async function nodeReady(server: string, token: string, name: string): Promise<boolean> {
  const res = await httpsRequest(`${server}/api/v1/nodes/${name}`, { token, timeoutMs: 2_000 });
  if (res.status !== 200) return false;
  const node = JSON.parse(res.body) as { status?: { conditions?: Array<{ type: string; status: string }> } };
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The node's cgroup tree (kubelet cgroupRoot) in every v1 controller, with its memory limit. */
function setUpNodeCgroups(name: string, memoryBytes: number): string[] {
  const warnings: string[] = [];
  for (const c of cgroupControllers) mkdirSync(`/sys/fs/cgroup/${c}/${name}`, { recursive: true });
  // A new cpuset cgroup is empty: it needs the parent's CPUs and memory nodes before use.
  for (const f of ['cpuset.mems', 'cpuset.cpus']) {
    const err = writeSys(`/sys/fs/cgroup/cpuset/${name}/${f}`, (readText(`/sys/fs/cgroup/cpuset/${f}`) ?? '0').trim());
    if (err) warnings.push(err);
  }
  const err = writeSys(`/sys/fs/cgroup/memory/${name}/memory.limit_in_bytes`, String(memoryBytes));
  if (err) warnings.push(`${name}: no memory limit (${err})`);
  // On a machine shared with other work the node's tree would weigh as much as one busy process
  // on its CPU (1024): with 10 runnable processes there, a pod with a 250m quota got ~100m. Weighted
  // like 8 processes, the node's pods get the CPU their requests and limits say, as on a machine of
  // their own, while the rest of the machine still runs (shares only matter under contention).
  const shares = writeSys(`/sys/fs/cgroup/cpu/${name}/cpu.shares`, String(NODE_CPU_SHARES));
  if (shares) warnings.push(`${name}: default CPU weight (${shares})`);
  return warnings;
}

async function startContainerd(r: NodeRuntime, ctx: RealNodesContext): Promise<ManagedProcess> {
  const { dir } = r;
  const socket = r.node.runtimeSocket;
  // The image store persists across clusters (importing a 1 GB image takes seconds); runtime
  // state and the CNI configuration do not.
  const root = join(cacheDir(), 'nodes', r.node.name, 'containerd');
  mkdirSync(root, { recursive: true });
  mkdirSync(join(dir, 'cni', 'net.d'), { recursive: true });
  const toml = `version = 2
root = "${root}"
state = "${join(dir, 'containerd-state')}"
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, 'containerd-opt')}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # This machine lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj below containerd's own.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${cniBinDir()}"
    conf_dir = "${join(dir, 'cni', 'net.d')}"
`;
  writeFileSync(join(dir, 'containerd.toml'), toml);
  const cni = {
    cniVersion: '1.0.0',
    name: 'scanflow',
    plugins: [
      {
        type: 'bridge',
        bridge: nodeNetwork.podBridge(r.index),
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: join(dir, 'cni', 'ipam'),
          ranges: [[{ subnet: r.node.podCidr }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'loopback' },
    ],
  };
  writeFileSync(join(dir, 'cni', 'net.d', '10-scanflow.conflist'), JSON.stringify(cni, null, 2));
  const ctr = binaryPath('ctr');
  const p = await ManagedProcess.start({
    name: `containerd ${r.node.name}`,
    command: 'taskset',
    args: ['-c', String(r.cpu), binaryPath('containerd'), '--config', join(dir, 'containerd.toml')],
    logFile: join(ctx.logDir, `containerd-${r.node.name}.log`),
    ready: async () => (await run(ctr, ['-a', socket, 'version'], 5_000)).code === 0,
  });
  recordPid(p.pid, 'containerd');
  // Pods a crashed earlier run left in the persistent store go first.
  await removePods(socket);
  return p;
}

/** Imports image archives that the node does not have yet; drops older Scanflow builds. */
async function importImages(socket: string, archives: string[], log: (l: string) => void, node: string): Promise<void> {
  const ctr = binaryPath('ctr');
  const have = new Set((await listImages(socket)).map((i) => i.ref));
  const wanted = new Set<string>();
  for (const archive of archives) {
    const ref = archiveRef(archive);
    if (ref) wanted.add(ref);
    if (ref && have.has(ref)) continue;
    const t = Date.now();
    await mustRun(ctr, ['-a', socket, '-n', 'k8s.io', 'images', 'import', archive], 600_000);
    log(`${node}: imported ${ref ?? archive} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  // Listed again after the imports, so that the images just imported count as wanted.
  const stale = staleImageRefs(await listImages(socket), wanted);
  // --sync: the old layers' content and snapshots go now, not at some later garbage collection.
  if (stale.length > 0) {
    await run(ctr, ['-a', socket, '-n', 'k8s.io', 'images', 'rm', '--sync', ...stale]);
    log(`${node}: removed ${stale.length} image reference(s) of older builds`);
  }
}

/** `ctr images ls`: REF TYPE DIGEST …, one image reference a line. */
async function listImages(socket: string): Promise<ListedImage[]> {
  return (await mustRun(binaryPath('ctr'), ['-a', socket, '-n', 'k8s.io', 'images', 'ls']))
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 3)
    .map(([ref, , digest]) => ({ ref: ref!, digest: digest! }));
}

/** The reference a docker-archive carries (manifest.json RepoTags), read with tar. */
const refCache = new Map<string, string | undefined>();
function archiveRef(archive: string): string | undefined {
  if (refCache.has(archive)) return refCache.get(archive);
  let ref: string | undefined;
  if (archive.endsWith('pause-3.10.1.tar')) ref = PAUSE_IMAGE;
  else {
    const m = /scanflow-([0-9a-f]{12})\.tar$/.exec(archive);
    if (m) ref = `scanflow.local/scanflow:${m[1]}`;
  }
  refCache.set(archive, ref);
  return ref;
}

/** Stops and removes every pod sandbox of a node through CRI, which runs CNI DEL for each. */
async function removePods(socket: string): Promise<void> {
  if (!exists(socket)) return;
  const crictl = binaryPath('crictl');
  const endpoint = `unix://${socket}`;
  const pods = (await run(crictl, ['-r', endpoint, '-t', '10s', 'pods', '-q'], 30_000)).stdout
    .split('\n')
    .filter(Boolean);
  if (pods.length === 0) return;
  await run(crictl, ['-r', endpoint, '-t', '30s', 'stopp', ...pods], 120_000);
  await run(crictl, ['-r', endpoint, '-t', '30s', 'rmp', '-a', '-f'], 120_000);
}

/** containerd-shim-runc-v2 processes of this node's containerd that outlived it (started by it). */
function killShims(socket: string): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = readText(`/proc/${entry}/cmdline`);
    if (cmd?.includes('containerd-shim') && cmd.includes(socket)) {
      try {
        process.kill(Number(entry), 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/** Host state of the nodes: iptables chains, cgroups, bridges, mounts, log links, the run dir. */
async function cleanupHost(workDir: string, nodes: Array<{ name: string; index: number }>): Promise<void> {
  try {
    await run(binaryPath('kube-proxy'), ['--cleanup'], 60_000);
  } catch {
    // not provisioned: nothing of it to clean
  }
  // kubelet adds KUBE-FIREWALL (and friends) even with makeIPTablesUtilChains: false.
  for (const t of ['iptables', 'ip6tables']) {
    for (const chain of ['INPUT', 'OUTPUT']) await run(t, ['-D', chain, '-j', 'KUBE-FIREWALL']);
    for (const chain of ['KUBE-FIREWALL', 'KUBE-KUBELET-CANARY']) {
      await run(t, ['-F', chain]);
      await run(t, ['-X', chain]);
      await run(t, ['-t', 'nat', '-F', chain]);
      await run(t, ['-t', 'nat', '-X', chain]);
      await run(t, ['-t', 'mangle', '-F', chain]);
      await run(t, ['-t', 'mangle', '-X', chain]);
    }
  }
  // Mounts under the run dir (kubelet volumes, containerd state), deepest first.
  const mounts = (readText('/proc/mounts') ?? '')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .map((m) => m.replace(/\\040/g, ' '))
    .filter((m) => m.startsWith(workDir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m]);
  for (const n of nodes) {
    for (const c of [...cgroupControllers, 'unified']) removeCgroupTree(`/sys/fs/cgroup/${c}/${n.name}`);
    await run('ip', ['link', 'del', nodeNetwork.podBridge(n.index)]);
  }
  await run('ip', ['link', 'del', nodeNetwork.bridge]);
  // kubelet links every container log into the fixed /var/log/containers.
  try {
    for (const f of readdirSync('/var/log/containers')) {
      const p = join('/var/log/containers', f);
      try {
        if (readlinkSync(p).startsWith(workDir + '/')) unlinkSync(p);
      } catch {
        // not a link
      }
    }
  } catch {
    // no such directory
  }
  for (const n of nodes) rmSync(join(workDir, n.name), { recursive: true, force: true });
}

function removeCgroupTree(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return;
  }
  for (const e of entries) removeCgroupTree(join(dir, e));
  try {
    rmdirSync(dir);
  } catch {
    // busy (a process still in it) or gone
  }
}

function writeKubeconfig(path: string, server: string, caPem: Buffer, token: string): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'scanflow', cluster: { server, 'certificate-authority-data': caPem.toString('base64') } }],
    users: [{ name: 'node', user: { token } }],
    contexts: [{ name: 'scanflow', context: { cluster: 'scanflow', user: 'node' } }],
    'current-context': 'scanflow',
  };
  writeFileSync(path, JSON.stringify(config, null, 2), { mode: 0o600 });
}

/** The image reference of an archive built by scripts/build-image or provisioned (for manifests). */
export function imageRefOf(archive: string): string | undefined {
  return archiveRef(archive);
}
