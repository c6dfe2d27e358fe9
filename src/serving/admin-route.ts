/**
 * /admin/model, the model server's one management endpoint (the platform's in-place upgrade
 * calls it, see local-model-server.ts):
 *   GET                                         { model, version, loaded, leases, pending }
 *   POST { "version": 3 | "production" }        load that version and switch to it (400 for a bad or
 *                                               unknown version, 503 when the model store is unreachable)
 * The version is read by the same parser as the --version option and the env variable.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { allow, readJson, send } from './http-io.js';
import { parseModelVersion } from './model-version.js';
import { ProtocolError } from './protocol.js';
import type { ServingContext } from './serving-context.js';
import { errorCodeOf } from './error-code.js';

export async function admin(ctx: ServingContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET') {
    return send(res, 200, {
      model: ctx.modelName,
      version: ctx.slot.version ?? null,
      loaded: ctx.slot.loadedVersions,
      leases: ctx.slot.leases,
      pending: ctx.batcher.pending,
    });
  }
  allow(req, 'POST');
  const body = await readJson(req);
  let version;
  try {
    version = parseModelVersion((body as { version?: unknown } | null)?.version, '"version"', ['production']);
  } catch (err) {
    throw new ProtocolError(400, (err as Error).message);
  }
  try {
    const switched = await (ctx.cluster ? ctx.cluster.switchAll(version) : ctx.switcher.switchTo(version));
    send(res, 200, { model: ctx.modelName, ...switched, previous: switched.previous ?? null });
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    // The registry's store being down is the server's trouble, not the request's: 503, so a
    // caller (the platform's in-place upgrade, an operator's script) knows a retry can succeed.
    throw new ProtocolError(storeUnavailable(err) ? 503 : 400, (err as Error).message);
  }
}

/**
 * A Backend failure of the knowledge store (the S3 server unreachable or failing) under the
 * errors that wrap it, in this process or in any worker of a --workers cluster: the cluster
 * carries the code across its IPC with the message.
 */
function storeUnavailable(err: unknown): boolean {
  return errorCodeOf(err) === 'Backend';
}
