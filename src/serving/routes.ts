/**
 * The model server's routes (all JSON; errors are `{ "error": "..." }`):
 *   GET  /v2/health/live | /v2/health/ready          200, or 503 while no version is loaded
 *   GET  /v2                                          server metadata
 *   GET  /v2/models/{m}[/versions/{v}]                model metadata
 *   GET  /v2/models/{m}[/versions/{v}]/ready          200 / 503
 *   POST /v2/models/{m}[/versions/{v}]/infer          400 for a bad request, unknown model or version
 *   GET  /metrics                                     Prometheus text format
 *   GET|POST /admin/model                             see admin-route.ts
 * Unknown paths get 404, wrong methods 405; a handler's ProtocolError becomes its status, any other
 * error a logged 500. Nothing a client sends can make the handler throw or reject: a request
 * target that is not a path (`//[`, `http://%zz/`, `*`) or a bad percent-escape is a 400.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { admin } from './admin-route.js';
import { requireAdmin } from './admin-guard.js';
import { allow, send } from './http-io.js';
import { infer } from './infer-route.js';
import { ProtocolError, modelMetadata, serverMetadata } from './protocol.js';
import { knownModel, requireModel, type ServingContext } from './serving-context.js';

export const SERVER_VERSION = '0.1.0';

const INFER = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/;
const MODEL = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready)?$/;

const decoded = (part: string | undefined): string | undefined => {
  if (part === undefined) return undefined;
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ProtocolError(400, `bad percent-escape in ${JSON.stringify(part.slice(0, 100))}`);
  }
};

/** Longest request target looked at; longer ones are refused (Node already caps the whole header). */
const MAX_TARGET = 2048;

/**
 * The path of a request target, without query and trailing slashes. Origin-form (`/v2/...`) is the
 * normal case; absolute-form (`http://host/v2/...`, sent to proxies) is accepted for its path.
 * The path is not normalised (`/v2/../x` is simply not a route).
 */
export function targetPath(target: string | undefined): string {
  let t = target ?? '/';
  if (t.length > MAX_TARGET) throw new ProtocolError(414, `request target is longer than ${MAX_TARGET} characters`);
  if (!t.startsWith('/')) {
    const absolute = /^https?:\/\/[^/?#]*(\/[^?#]*)?/i.exec(t);
    if (!absolute) throw new ProtocolError(400, `request target ${JSON.stringify(t.slice(0, 100))} is not a path`);
    t = absolute[1] ?? '/';
  }
  const end = t.search(/[?#]/);
  const path = end === -1 ? t : t.slice(0, end);
  return path.replace(/\/+$/, '') || '/';
}

export function requestHandler(ctx: ServingContext): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    let path = '?';
    try {
      path = targetPath(req.url);
      await route(ctx, req, res, path);
    } catch (err) {
      const status = err instanceof ProtocolError ? err.status : 500;
      if (status === 500) ctx.log(`${req.method ?? ''} ${path} failed: ${(err as Error).stack ?? String(err)}`);
      try {
        send(res, status, { error: (err as Error).message });
      } catch {
        res.destroy();
      }
    }
  };
}

async function route(ctx: ServingContext, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const inferPath = INFER.exec(path);
  if (inferPath) {
    allow(req, 'POST');
    return infer(ctx, req, res, decoded(inferPath[1])!, decoded(inferPath[2]));
  }
  if (path === '/v2/health/live') {
    allow(req, 'GET');
    return send(res, 200, { live: true });
  }
  if (path === '/v2/health/ready') {
    allow(req, 'GET');
    return send(res, ctx.slot.ready ? 200 : 503, { ready: ctx.slot.ready });
  }
  if (path === '/v2') {
    allow(req, 'GET');
    return send(res, 200, serverMetadata(SERVER_VERSION));
  }
  const modelPath = MODEL.exec(path);
  if (modelPath) {
    allow(req, 'GET');
    const name = decoded(modelPath[1])!;
    const version = decoded(modelPath[2]);
    if (modelPath[3]) {
      const ready = knownModel(ctx, name, version) && ctx.slot.ready;
      return send(res, ready ? 200 : 503, { name: ctx.modelName, ready });
    }
    requireModel(ctx, name, version);
    return send(res, 200, modelMetadata(ctx.modelName, ctx.slot.version === undefined ? [] : [ctx.slot.version]));
  }
  if (path === '/metrics') {
    allow(req, 'GET');
    const { text, contentType } = ctx.cluster
      ? await ctx.cluster.metricsText()
      : { text: await ctx.metrics.registry.metrics(), contentType: ctx.metrics.registry.contentType };
    res.writeHead(200, { 'content-type': contentType });
    res.end(text);
    return;
  }
  if (path === '/admin/model') {
    requireAdmin(ctx, req);
    return admin(ctx, req, res);
  }
  throw new ProtocolError(404, `no route ${req.method ?? ''} ${path} (see /v2/models/${ctx.modelName})`);
}
