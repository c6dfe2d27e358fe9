/**
 * A codec server for the Temporal Web UI and CLI (`--codec-endpoint`): POST /decode and /encode
 * take `{ "payloads": [ { "metadata": { key: base64 }, "data": base64 } ] }` and answer the same
 * shape, run through Scanflow's payload codec. It answers only the UI origin it is told (CORS) and,
 * when given a token, only requests that carry it, so the key never leaves this process and the
 * decoded payloads reach only people who may see them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';

const MAX_BODY_BYTES = 4 * 1024 * 1024;

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Origins allowed to call (the Web UI), e.g. http://localhost:8233. */
  allowedOrigins: string[];
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  token?: string;
}

function fromJson(p: JsonPayload, index: number): Payload {
  if (typeof p !== 'object' || p === null) throw new Error(`payloads[${index}]: expected an object`);
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) {
    if (typeof v !== 'string') throw new Error(`payloads[${index}].metadata.${k}: expected base64 text`);
    metadata[k] = Buffer.from(v, 'base64');
  }
  if (p.data !== undefined && typeof p.data !== 'string')
    throw new Error(`payloads[${index}].data: expected base64 text`);
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw Object.assign(new Error(`body larger than ${MAX_BODY_BYTES} bytes`), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createCodecServer(options: CodecServerOptions): Server {
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    if (origin && options.allowedOrigins.includes(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
      res.setHeader('access-control-allow-headers', 'content-type, x-namespace, authorization');
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('vary', 'origin');
    }
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || (path !== '/encode' && path !== '/decode')) {
      return send(res, 404, { error: 'POST /encode or /decode' });
    }
    if (origin && !options.allowedOrigins.includes(origin))
      return send(res, 403, { error: `origin ${origin} is not allowed` });
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      return send(res, 401, { error: 'missing or wrong bearer token' });
    }
    let payloads: Payload[];
    try {
      const body = JSON.parse(await readBody(req)) as { payloads?: unknown };
      if (!Array.isArray(body?.payloads)) throw new Error('payloads: expected an array');
      payloads = body.payloads.map((p, i) => fromJson(p as JsonPayload, i));
    } catch (err) {
      return send(res, (err as { status?: number }).status ?? 400, { error: (err as Error).message });
    }
    try {
      const out = path === '/encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
      send(res, 200, { payloads: out.map(toJson) });
    } catch (err) {
      send(res, 422, { error: (err as Error).message });
    }
  };
  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { error: (err as Error).message });
      else res.destroy();
    });
  });
}
