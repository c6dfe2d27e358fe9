/**
 * A fault-injecting proxy in front of the real kube-apiserver of the test harness: plain HTTP on
 * 127.0.0.1 (the kubeconfig it writes says so, with the admin token), forwarding to the API
 * server over TLS. A rule answers matching requests with a Kubernetes Status of its own (409,
 * 422, 429 with Retry-After, 500, …), a non-Status text body, or drops the connection, either
 * before the request reaches the API server or after the API server has acted on it (the answer
 * is lost). Rules fire a given number of times, then requests pass through; every request is logged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export type Fault =
  | { status: number; reason: string; message: string; retryAfterSeconds?: number }
  | { status: number; text: string }
  | { drop: 'before' | 'after' };

export interface FaultRule {
  method: string;
  path: RegExp;
  fault: Fault;
  /** How many matching requests get the fault (default 1). */
  times?: number;
}

export interface ProxiedRequest {
  method: string;
  path: string;
  fault?: string;
  status?: number;
}

export class FaultProxy {
  readonly log: ProxiedRequest[] = [];
  private rules: Array<FaultRule & { left: number }> = [];
  private server: Server | undefined;
  private readonly target: URL;
  private readonly ca: Buffer | undefined;
  private readonly token: string;

  constructor(private readonly admin: KubeConfig) {
    const cluster = admin.getCurrentCluster()!;
    this.target = new URL(cluster.server);
    this.ca = cluster.caData ? Buffer.from(cluster.caData, 'base64') : undefined;
    this.token = admin.getCurrentUser()?.token ?? '';
  }

  /** Replaces the rules (and clears the log). */
  inject(...rules: FaultRule[]): void {
    this.rules = rules.map((r) => ({ ...r, left: r.times ?? 1 }));
    this.log.length = 0;
  }

  /** Requests that got a fault. */
  faulted(): ProxiedRequest[] {
    return this.log.filter((r) => r.fault);
  }

  async start(kubeconfigPath: string, namespace: string): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const port = (this.server.address() as AddressInfo).port;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'faulty', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'admin', token: this.token }],
      contexts: [{ name: 'faulty', cluster: 'faulty', user: 'admin', namespace }],
      currentContext: 'faulty',
    });
    writeFileSync(kubeconfigPath, kc.exportConfig(), { mode: 0o600 });
    return kubeconfigPath;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const entry: ProxiedRequest = { method: req.method ?? '', path: req.url ?? '' };
    this.log.push(entry);
    const rule = this.rules.find((r) => r.left > 0 && r.method === entry.method && r.path.test(entry.path));
    if (rule) rule.left -= 1;
    const fault = rule?.fault;
    if (fault && 'drop' in fault && fault.drop === 'before') {
      entry.fault = 'drop before';
      req.socket.destroy();
      return;
    }
    if (fault && 'status' in fault) {
      entry.fault = `${fault.status}`;
      entry.status = fault.status;
      req.resume();
      if ('text' in fault) {
        res.writeHead(fault.status, { 'content-type': 'text/plain' }).end(fault.text);
        return;
      }
      res
        .writeHead(fault.status, {
          'content-type': 'application/json',
          ...(fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {}),
        })
        .end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: fault.message,
            reason: fault.reason,
            code: fault.status,
          }),
        );
      return;
    }
    const upstream = httpsRequest(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        ca: this.ca,
        headers: { ...req.headers, host: this.target.host, authorization: `Bearer ${this.token}` },
      },
      (up) => {
        if (fault && 'drop' in fault) {
          // The API server did the work; its answer never reaches the client.
          entry.fault = 'drop after';
          up.resume();
          up.once('end', () => req.socket.destroy());
          return;
        }
        entry.status = up.statusCode;
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.once('error', (err) => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
    req.pipe(upstream);
  }
}
