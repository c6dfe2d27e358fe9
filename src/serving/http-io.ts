/**
 * The few HTTP helpers the model server's routes share: method checks, JSON answers and a bounded
 * body reader. Every failure is a ProtocolError carrying its status, so the router answers it as
 * `{ "error": ... }` with that status.
 *
 * Bodies are bounded twice before they are buffered: per request (a declared Content-Length over
 * the limit is refused with 413 before a byte is read, a chunked body as soon as it passes it),
 * and together (a BodyBudget shared by the server: requests whose bytes do not fit while others
 * are being read get 503 and `retry-after`), so a few concurrent huge bodies cannot take the
 * process's memory. A body with a known length is read into one buffer of that size (no copy).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProtocolError } from './protocol.js';

/** Largest request body accepted by default (a full 4096-image request in JSON is about 30 MB). */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Bytes of request bodies held at once by default (all requests being read together). */
export const MAX_BODY_BUDGET_BYTES = 96 * 1024 * 1024;

export function allow(req: IncomingMessage, method: string): void {
  if (req.method !== method) throw new ProtocolError(405, `method ${req.method ?? ''} not allowed here: use ${method}`);
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  };
  // A refused body may still be on its way: close the connection rather than read it.
  if (status === 413 || (status >= 400 && !res.req.complete)) headers.connection = 'close';
  if (status === 503) headers['retry-after'] = 1;
  res.writeHead(status, headers);
  res.end(text);
}

/** Bytes of request bodies being read at once, shared by every request of one server. */
export class BodyBudget {
  private used = 0;
  constructor(readonly limit = MAX_BODY_BUDGET_BYTES) {}
  get inUse(): number {
    return this.used;
  }
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }
  give(bytes: number): void {
    this.used -= bytes;
  }
}

export interface BodyLimits {
  maxBytes: number;
  budget?: BodyBudget;
}

const tooLarge = (max: number) =>
  new ProtocolError(413, `request body is larger than ${max} bytes: split the images over several requests`);
const overBudget = () =>
  new ProtocolError(503, 'the server is reading too many large request bodies at once: retry shortly');

export async function readBody(
  req: IncomingMessage,
  limits: BodyLimits = { maxBytes: MAX_BODY_BYTES },
): Promise<Buffer> {
  const { maxBytes, budget } = limits;
  const declared = req.headers['content-length'];
  const length = declared === undefined ? undefined : Number(declared);
  if (length !== undefined && !(Number.isSafeInteger(length) && length >= 0))
    throw new ProtocolError(400, `content-length ${JSON.stringify(declared)} is not a byte count`);
  if (length !== undefined && length > maxBytes) throw tooLarge(maxBytes);
  let reserved = 0;
  const reserve = (bytes: number) => {
    if (budget && !budget.take(bytes)) throw overBudget();
    reserved += bytes;
  };
  // Leaving a loop below early (a body over the limit) must not destroy the request: that closes the
  // socket before the 413 is written, and the client, still sending, sees a reset and no answer.
  // The answer carries `connection: close` (send), so the server closes once it is out.
  try {
    if (length !== undefined) {
      reserve(length);
      const out = Buffer.allocUnsafe(length);
      let at = 0;
      for await (const chunk of req.iterator({ destroyOnReturn: false })) {
        const c = chunk as Buffer;
        if (at + c.length > length) throw new ProtocolError(400, 'request body is longer than its content-length');
        c.copy(out, at);
        at += c.length;
      }
      if (at !== length) throw new ProtocolError(400, `request body ended after ${at} of ${length} bytes`);
      return out;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req.iterator({ destroyOnReturn: false })) {
      const c = chunk as Buffer;
      size += c.length;
      if (size > maxBytes) throw tooLarge(maxBytes);
      reserve(c.length);
      chunks.push(c);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    // The client went away mid-body (aborted, reset): nobody is left to answer.
    throw new ProtocolError(400, `request body could not be read: ${(err as Error).message}`);
  } finally {
    // The buffer is handed on (parsed into a tensor) or dropped right after: the reservation ends here.
    if (budget && reserved > 0) budget.give(reserved);
  }
}

/** The body parsed as JSON, or a 400 saying why not. */
export async function readJson(req: IncomingMessage, limits: BodyLimits = { maxBytes: 64 * 1024 }): Promise<unknown> {
  const text = (await readBody(req, limits)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ProtocolError(400, `request body is not valid JSON: ${(err as Error).message}`);
  }
}
