/**
 * Host services that pods on the real nodes must reach: the Temporal dev server (the in-pod
 * workers poll it, through a relay: see relayToPods) and the S3 server (versitygw: the knowledge base, the model registry and the
 * prediction log, read by the model-server pods). Pods leave their node through the pod bridge and
 * the host's routing, so a process listening only on loopback is out of their reach; these bind
 * the host bridge's address (nodeNetwork.apiServerIp, where the API server already listens), which
 * this host reaches too. The bridge exists only while a real-node cluster runs: start the cluster
 * first.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { freePort } from '../../../stack/ports.js';
import { ManagedProcess } from '../../../stack/process.js';
import { startS3Server } from '../../../stack/s3-server.js';
import { startTemporalDevServer, type RunningTemporal } from '../../../stack/temporal-server.js';
import { exists } from './host.js';
import { nodeNetwork } from './real-nodes.js';

/** The host's address on the node bridge: pods reach host processes that listen there. */
export const podReachableHostIp = nodeNetwork.apiServerIp;

function bridgeUp(): void {
  if (!exists(`/sys/class/net/${nodeNetwork.bridge}`))
    throw new Error(
      `the node bridge ${nodeNetwork.bridge} (${podReachableHostIp}) does not exist: start the real-node cluster before the services its pods reach`,
    );
}

/**
 * A TCP relay on the bridge address to a loopback-only service of this host. The Temporal dev
 * server cannot listen there itself: with `--ip` set to anything but loopback its internal
 * services bind that address but still dial each other on 127.0.0.1 (CLI 1.9.1: every call fails
 * with "dial tcp 127.0.0.1:…: connection refused"), and `--ip 0.0.0.0` would expose it, unauthenticated,
 * on every interface of the machine. The relay exposes one port, to the pods' network only.
 */
export interface PodRelay {
  /** <bridge ip>:<port>: where pods connect. */
  address: string;
  close(): Promise<void>;
}

export async function relayToPods(target: { host: string; port: number }, port?: number): Promise<PodRelay> {
  bridgeUp();
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = createConnection(target);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
      // One side failing ends the pair: the client reconnects (gRPC does).
      s.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  const listenPort = port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, podReachableHostIp, () => resolve());
  });
  return {
    address: `${podReachableHostIp}:${listenPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface PodReachableTemporal extends RunningTemporal {
  /** Where pods reach the frontend (the relay on the bridge); `address` is the loopback one. */
  podAddress: string;
  stop(): Promise<void>;
}

/** The Temporal dev server of src/stack (loopback) with a relay that pods on the real nodes reach. */
export async function startTemporalForPods(opts: {
  dbFile: string;
  logDir: string;
  port?: number;
  uiPort?: number;
  namespace?: string;
  extraArgs?: string[];
}): Promise<PodReachableTemporal> {
  bridgeUp();
  const server = await startTemporalDevServer({
    dbFile: opts.dbFile,
    logDir: opts.logDir,
    port: opts.port ?? (await freePort()),
    uiPort: opts.uiPort ?? (await freePort()),
    namespace: opts.namespace,
    extraArgs: opts.extraArgs,
  });
  try {
    const [host = '127.0.0.1', port] = server.address.split(':');
    const relay = await relayToPods({ host, port: Number(port) });
    return {
      ...server,
      podAddress: relay.address,
      async stop() {
        await relay.close();
        await server.process.stop();
      },
    };
  } catch (err) {
    await server.process.stop();
    throw err;
  }
}

export interface PodReachableS3 {
  /** http://<bridge ip>:<port>, for pods and this host alike. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  process: ManagedProcess;
}

/** versitygw (posix backend on `dataDir`) listening on the bridge address and on loopback. */
export async function startS3ForPods(opts: {
  dataDir: string;
  logDir: string;
  accessKey: string;
  secretKey: string;
  port?: number;
}): Promise<PodReachableS3> {
  bridgeUp();
  const port = opts.port ?? (await freePort());
  // The stack's own versitygw, also listening on the bridge: the endpoint pods and host both use.
  const s3 = await startS3Server({ ...opts, port, alsoOn: [podReachableHostIp] });
  const endpoint = `http://${podReachableHostIp}:${port}`;
  return { endpoint, accessKey: opts.accessKey, secretKey: opts.secretKey, process: s3.process };
}
