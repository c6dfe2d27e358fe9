/**
 * The entry point of a local online workflow: an HTTP reverse proxy that splits traffic between
 * services by weight (smooth weighted round-robin), balances round-robin over a service's ready
 * replicas, and fails over to the backup service when the chosen services have no ready replica.
 * A request whose connection to a replica is refused is re-sent to another replica (it never
 * reached a server, so re-sending is safe); any other upstream failure is answered with 502.
 *
 * Every response carries `x-scanflow-service` and `x-scanflow-replica`; GET /_scanflow/router
 * shows the routing table and per-service counts.
 *
 * No client can take the router (and the worker process it lives in) down: a client that aborts
 * mid-body or mid-answer, a body over the limit (refused on its Content-Length before a byte is
 * read), a request target Node cannot forward: each ends that one exchange, answered when the
 * client is still there. A client that goes away also cancels its upstream request.
 */
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Replica } from './replica.js';
import { WeightedChoice } from './weighted-choice.js';

export interface RoutingTable {
  /** Replicas of a service (including unready and draining ones). */
  replicas(service: string): Replica[];
}

const ATTEMPTS = 3;
/** Bodies are buffered (to re-send on a refused connection); same limit as the model server. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const STATUS_PATH = '/_scanflow/router';

export class Router {
  private readonly http: Server;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly choice = new WeightedChoice(new Map());
  private weights = new Map<string, number>();
  private backup: string | undefined;
  private readonly cursor = new Map<string, number>();
  /** Requests answered per service, and how many went to the backup because the others had no ready replica. */
  readonly served = new Map<string, number>();
  failovers = 0;

  constructor(private readonly table: RoutingTable) {
    this.http = createServer(
      { headersTimeout: 10_000, requestTimeout: 60_000, connectionsCheckingInterval: 1000 },
      (req, res) => {
        this.handle(req, res).catch((err: unknown) => {
          // Only a bug gets here (handle answers every client error): end this exchange, not the process.
          if (!res.headersSent && !res.destroyed) json(res, 500, { error: `router: ${(err as Error).message}` });
          else res.destroy();
        });
      },
    );
    this.http.keepAliveTimeout = 30_000;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => resolve());
    });
    return this.port;
  }

  get port(): number {
    return (this.http.address() as AddressInfo | null)?.port ?? 0;
  }

  setTraffic(weights: Map<string, number>, backup: string | undefined): void {
    this.weights = weights;
    this.backup = backup;
    this.choice.setWeights(weights);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    await closed;
    this.agent.destroy();
  }

  /** The replica the next request goes to, or undefined when nothing (not even the backup) is ready. */
  pick(exclude: Set<Replica> = new Set()): { service: string; replica: Replica } | undefined {
    const usable = (service: string) =>
      this.table.replicas(service).filter((r) => r.ready && !r.draining && !exclude.has(r));
    let service = this.choice.next((s) => usable(s).length > 0);
    if (service === undefined && this.backup !== undefined && usable(this.backup).length > 0) {
      service = this.backup;
      this.failovers += 1;
    }
    if (service === undefined) return undefined;
    const candidates = usable(service);
    const at = (this.cursor.get(service) ?? 0) % candidates.length;
    this.cursor.set(service, at + 1);
    return { service, replica: candidates[at]! };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url === STATUS_PATH) return json(res, 200, this.status());
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES)
      return json(res, 413, { error: `request body is larger than ${MAX_BODY_BYTES} bytes` });
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES)
          return json(res, 413, { error: `request body is larger than ${MAX_BODY_BYTES} bytes` });
        chunks.push(chunk as Buffer);
      }
    } catch {
      // The client aborted mid-body: nobody is left to answer.
      res.destroy();
      return;
    }
    const body = Buffer.concat(chunks);
    const tried = new Set<Replica>();
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      const target = this.pick(tried);
      if (!target) break;
      tried.add(target.replica);
      const outcome = await this.forward(req, res, body, target.service, target.replica);
      if (outcome === 'done') return;
      // Connection refused: the replica is gone; stop sending it traffic until its health check passes.
      target.replica.ready = false;
    }
    json(res, 503, {
      error: `no ready replica of ${[...this.weights.keys()].join(', ') || 'any service'}${this.backup ? ` nor of the backup ${this.backup}` : ''}`,
    });
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    service: string,
    replica: Replica,
  ): Promise<'done' | 'refused'> {
    return new Promise((resolve) => {
      replica.inFlight += 1;
      let settled = false;
      const finish = (outcome: 'done' | 'refused') => {
        if (settled) return;
        settled = true;
        replica.inFlight -= 1;
        resolve(outcome);
      };
      const headers = { ...req.headers, host: `127.0.0.1:${replica.port}`, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      delete headers.connection;
      let upstream: ReturnType<typeof request>;
      try {
        upstream = request(
          { host: '127.0.0.1', port: replica.port, method: req.method, path: req.url, headers, agent: this.agent },
          (up) => this.answer(res, up, service, replica, finish),
        );
      } catch (err) {
        // Node refuses to send this request line (e.g. a path with control characters).
        json(res, 400, { error: `request cannot be forwarded: ${(err as Error).message}` });
        finish('done');
        return;
      }
      // The client went away: stop the upstream request too.
      res.once('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      upstream.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED' && !res.headersSent && !res.destroyed) return finish('refused');
        if (!res.headersSent && !res.destroyed)
          json(res, 502, { error: `replica ${replica.name} of ${service} failed: ${err.message}` });
        else res.destroy();
        finish('done');
      });
      upstream.end(body);
    });
  }

  private answer(
    res: ServerResponse,
    up: IncomingMessage,
    service: string,
    replica: Replica,
    finish: (outcome: 'done') => void,
  ): void {
    if (res.destroyed) {
      up.resume();
      finish('done');
      return;
    }
    res.writeHead(up.statusCode ?? 502, {
      ...up.headers,
      'x-scanflow-service': service,
      'x-scanflow-replica': replica.name,
    });
    up.pipe(res);
    up.on('end', () => {
      this.served.set(service, (this.served.get(service) ?? 0) + 1);
      finish('done');
    });
    up.on('error', () => {
      res.destroy();
      finish('done');
    });
    up.on('close', () => finish('done'));
  }

  status(): Record<string, unknown> {
    const names = new Set([...this.weights.keys(), ...(this.backup ? [this.backup] : [])]);
    return {
      backup: this.backup ?? null,
      failovers: this.failovers,
      services: Object.fromEntries(
        [...names].map((name) => [
          name,
          {
            weight: this.weights.get(name) ?? 0,
            served: this.served.get(name) ?? 0,
            replicas: this.table.replicas(name).map((r) => ({
              name: r.name,
              pid: r.pid,
              port: r.port,
              ready: r.ready,
              draining: r.draining,
              inFlight: r.inFlight,
            })),
          },
        ]),
      ),
    };
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    // A refused body may still be on its way: close rather than read it.
    ...(status === 413 ? { connection: 'close' } : {}),
  });
  res.end(text);
}
