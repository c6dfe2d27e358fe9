/**
 * POST /v2/models/{m}[/versions/{v}]/infer: checks the request, hands its images to the batcher
 * and answers with its rows of the merged batch, counting every request and error in the metrics.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, send } from './http-io.js';
import type { Lease } from './model-slot.js';
import { ProtocolError, buildInferResponse, parseInferRequest, type InferRequest } from './protocol.js';
import type { RowResult } from './batch-runner.js';
import { requireModel, type ServingContext } from './serving-context.js';

export async function infer(
  ctx: ServingContext,
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  version: string | undefined,
): Promise<void> {
  const started = process.hrtime.bigint();
  const model = ctx.modelName;
  let status = 200;
  // Queued requests may wait for this one while its body is read and parsed (batching policy 'arrivals').
  const arrival = ctx.batcher.arrive();
  let pinned: Lease | undefined;
  try {
    let request: InferRequest;
    try {
      requireModel(ctx, name, version);
      // Checked and leased in the same tick: a switch while the body is read cannot take it away.
      if (version !== undefined) pinned = ctx.slot.acquireVersion(version);
      request = parseInferRequest(await readBody(req));
    } catch (err) {
      ctx.metrics.errors.inc({ model, reason: name === model ? 'bad_request' : 'unknown_model' });
      throw err;
    } finally {
      arrival.done();
    }
    if (!ctx.slot.ready) {
      ctx.metrics.errors.inc({ model, reason: 'not_ready' });
      throw new ProtocolError(503, `model ${model} has no version loaded yet`);
    }
    const requestId = request.id ?? randomUUID();
    let result: RowResult;
    try {
      result = await ctx.batcher.submit(request.images, request.count, {
        requestId,
        pinned,
        sampleIds: request.sampleIds,
        images: request.images,
      });
    } catch (err) {
      ctx.metrics.errors.inc({ model, reason: 'model_error' });
      throw err;
    }
    send(
      res,
      200,
      buildInferResponse({
        modelName: model,
        version: result.version,
        id: requestId,
        count: request.count,
        prediction: result.prediction,
        outputs: request.outputs,
      }),
    );
  } catch (err) {
    status = err instanceof ProtocolError ? err.status : 500;
    throw err;
  } finally {
    pinned?.release();
    ctx.metrics.requests.inc({ model, code: String(status) });
    ctx.metrics.latency.observe({ model }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
