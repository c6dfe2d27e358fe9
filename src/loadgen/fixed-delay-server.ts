/**
 * A fixed-delay Open Inference Protocol v2 server: every infer request is answered `delayMs`
 * after it enters service, at most `concurrency` requests in service at once (the rest queue), so
 * its capacity is known exactly (concurrency × 1000 / delayMs requests/s). Both load generators
 * (ours and the official LoadGen) hit it in the benchmark; it never reads the images.
 *
 *   npx tsx src/loadgen/fixed-delay-server.ts --port 8090 --delay-ms 5 --concurrency 4
 * prints {"event":"listening","port":N} once it serves.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

export interface FixedDelayServerOptions {
  delayMs: number;
  /** Requests in service at once (default unlimited). */
  concurrency?: number;
  port?: number;
  host?: string;
}

export interface FixedDelayServer {
  url: string;
  port: number;
  /** Infer requests answered so far. */
  answered(): number;
  close(): Promise<void>;
}

export async function startFixedDelayServer(o: FixedDelayServerOptions): Promise<FixedDelayServer> {
  const limit = o.concurrency ?? Infinity;
  let busy = 0;
  let answered = 0;
  const queue: (() => void)[] = [];
  const serve = () => {
    while (busy < limit && queue.length) {
      busy += 1;
      const job = queue.shift()!;
      setTimeout(() => {
        busy -= 1;
        answered += 1;
        job();
        serve();
      }, o.delayMs);
    }
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET' && req.url?.startsWith('/v2/health')) {
        res.writeHead(200).end();
        return;
      }
      const match =
        req.method === 'POST' ? /^\/v2\/models\/([^/]+)(?:\/versions\/[^/]+)?\/infer$/.exec(req.url ?? '') : null;
      if (!match) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
        return;
      }
      // The batch size, without parsing the whole body: "shape":[n,
      const head = Buffer.concat(chunks).subarray(0, 200).toString('utf8');
      const n = Number(/"shape":\[(\d+)/.exec(head)?.[1] ?? 1);
      queue.push(() => {
        const body = JSON.stringify({
          model_name: decodeURIComponent(match[1]!),
          model_version: '1',
          id: '0',
          outputs: [{ name: 'label', shape: [n], datatype: 'INT32', data: new Array(n).fill(0) }],
        });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      });
      serve();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}`,
    port,
    answered: () => answered,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'delay-ms': { type: 'string', default: '5' },
      concurrency: { type: 'string' },
    },
  });
  const server = await startFixedDelayServer({
    port: Number(values.port),
    host: values.host,
    delayMs: Number(values['delay-ms']),
    concurrency: values.concurrency ? Number(values.concurrency) : undefined,
  });
  console.log(JSON.stringify({ event: 'listening', port: server.port, url: server.url }));
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
