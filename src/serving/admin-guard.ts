/**
 * Who may use /admin/model (the hot model switch). With a token (from a Secret, see
 * server-arguments.ts) a caller must send `Authorization: Bearer <token>`; without one the
 * endpoint answers only callers on this host's loopback (the local platform, an operator's
 * `kubectl port-forward`), never a caller that came through a Service. Inference stays public.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ProtocolError } from './protocol.js';
import type { ServingContext } from './serving-context.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function requireAdmin(ctx: Pick<ServingContext, 'adminToken'>, req: IncomingMessage): void {
  if (ctx.adminToken !== undefined) {
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (!sameSecret(given, ctx.adminToken)) {
      throw new ProtocolError(401, '/admin/model needs "Authorization: Bearer <admin token>"');
    }
    return;
  }
  if (!LOOPBACK.test(req.socket.remoteAddress ?? '')) {
    throw new ProtocolError(
      403,
      '/admin/model answers only loopback callers when the server has no admin token (set SCANFLOW_ADMIN_TOKEN from a Secret)',
    );
  }
}
