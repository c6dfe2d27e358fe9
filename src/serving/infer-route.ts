/**
 * POST /v2/models/{m}[/versions/{v}]/infer over HTTP: a JSON body, or the binary tensor data
 * extension (header `Inference-Header-Content-Length`: that many bytes of JSON, then raw
 * little-endian tensors). Outputs come back as JSON, or as raw bytes after a JSON header for those
 * the request asked with `parameters.binary_data` (or all with `binary_data_output`). The body is
 * bounded before it is read (http-io.ts); the inference itself is inference.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from './http-io.js';
import { runInference } from './inference.js';
import { ProtocolError, encodeInferResponse, parseBinaryInferRequest, parseInferRequest } from './protocol.js';
import type { ServingContext } from './serving-context.js';

export const HEADER_LENGTH = 'inference-header-content-length';

export async function infer(
  ctx: ServingContext,
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  version: string | undefined,
): Promise<void> {
  const { request, answer } = await runInference(ctx, name, version, async () => {
    const declared = req.headers[HEADER_LENGTH];
    let headerLength: number | undefined;
    if (declared !== undefined) {
      headerLength = Number(declared);
      if (typeof declared !== 'string' || !/^\d{1,10}$/.test(declared.trim()))
        throw new ProtocolError(400, `${HEADER_LENGTH} must be a byte count, got ${JSON.stringify(declared)}`);
    }
    const body = await readBody(req, ctx.bodyLimits);
    return headerLength === undefined ? parseInferRequest(body) : parseBinaryInferRequest(body, headerLength);
  });
  if (res.headersSent || res.destroyed) return;
  const { body, headerLength } = encodeInferResponse(answer, request.binaryOutputs);
  const headers: Record<string, string | number> = {
    'content-type': headerLength === undefined ? 'application/json' : 'application/octet-stream',
    'content-length': Buffer.byteLength(body),
  };
  if (headerLength !== undefined) headers[HEADER_LENGTH] = headerLength;
  res.writeHead(200, headers);
  res.end(body);
}
