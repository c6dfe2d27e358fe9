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
 * error a logged 500.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { admin } from './admin-route.js';
import { allow, send } from './http-io.js';
import { infer } from './infer-route.js';
import { ProtocolError, modelMetadata, serverMetadata } from './protocol.js';
import { knownModel, requireModel, type ServingContext } from './serving-context.js';

export const SERVER_VERSION = '0.1.0';

const INFER = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/;
const MODEL = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready)?$/;

const decoded = (part: string | undefined): string | undefined =>
  part === undefined ? undefined : decodeURIComponent(part);

export function requestHandler(ctx: ServingContext): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    try {
      await route(ctx, req, res, path);
    } catch (err) {
      const status = err instanceof ProtocolError ? err.status : 500;
      if (status === 500) ctx.log(`${req.method ?? ''} ${path} failed: ${(err as Error).stack ?? String(err)}`);
      send(res, status, { error: (err as Error).message });
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
    res.writeHead(200, { 'content-type': ctx.metrics.registry.contentType });
    res.end(await ctx.metrics.registry.metrics());
    return;
  }
  if (path === '/admin/model') return admin(ctx, req, res);
  throw new ProtocolError(404, `no route ${req.method ?? ''} ${path} (see /v2/models/${ctx.modelName})`);
}
