/**
 * The few HTTP helpers the model server's routes share: method checks, JSON answers and a bounded
 * body reader. Every failure is a ProtocolError carrying its status, so the router answers it as
 * `{ "error": ... }` with that status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProtocolError } from './protocol.js';

/** Largest request body accepted (a full 4096-image request in JSON is about 30 MB). */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

export function allow(req: IncomingMessage, method: string): void {
  if (req.method !== method) throw new ProtocolError(405, `method ${req.method ?? ''} not allowed here: use ${method}`);
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new ProtocolError(
        413,
        `request body is larger than ${MAX_BODY_BYTES} bytes: split the images over several requests`,
      );
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The body parsed as JSON, or a 400 saying why not. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ProtocolError(400, `request body is not valid JSON: ${(err as Error).message}`);
  }
}
