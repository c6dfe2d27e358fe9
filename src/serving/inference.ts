/**
 * One inference, whatever the protocol (REST with JSON or binary tensors, gRPC): checks the model
 * and version, reads and checks the request (before any tensor is built), queues its images in the
 * batcher and returns its rows of the merged batch, counting every request and error in the
 * metrics. The protocol layers only decode requests and encode answers.
 */
import { randomUUID } from 'node:crypto';
import { OverloadedError } from './batcher.js';
import type { RowResult } from './batch-runner.js';
import type { Lease } from './model-slot.js';
import { ProtocolError, type InferAnswer, type InferRequest } from './protocol.js';
import { requireModel, type ServingContext } from './serving-context.js';

export interface Inference {
  request: InferRequest;
  answer: InferAnswer;
}

/**
 * `read` yields the decoded request (reading a body is part of the request's arrival: with the
 * 'arrivals' batching policy, queued requests wait for it). Any failure is a ProtocolError with
 * the HTTP status it maps to.
 */
export async function runInference(
  ctx: ServingContext,
  name: string,
  version: string | undefined,
  read: () => InferRequest | Promise<InferRequest>,
): Promise<Inference> {
  const started = process.hrtime.bigint();
  const model = ctx.modelName;
  let status = 200;
  const arrival = ctx.batcher.arrive();
  let pinned: Lease | undefined;
  try {
    let request: InferRequest;
    try {
      requireModel(ctx, name, version);
      // Checked and leased in the same tick: a switch while the body is read cannot take it away.
      if (version !== undefined) pinned = ctx.slot.acquireVersion(version);
      request = await read();
    } catch (err) {
      const reason =
        name !== model
          ? 'unknown_model'
          : err instanceof ProtocolError && err.status === 503
            ? 'overloaded'
            : 'bad_request';
      ctx.metrics.errors.inc({ model, reason });
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
      if (err instanceof OverloadedError) {
        ctx.metrics.errors.inc({ model, reason: 'overloaded' });
        throw new ProtocolError(503, err.message);
      }
      ctx.metrics.errors.inc({ model, reason: 'model_error' });
      throw err;
    }
    const answer: InferAnswer = {
      modelName: model,
      version: result.version,
      id: requestId,
      count: request.count,
      prediction: result.prediction,
    };
    if (request.outputs) answer.outputs = request.outputs;
    return { request, answer };
  } catch (err) {
    status = err instanceof ProtocolError ? err.status : 500;
    throw err;
  } finally {
    pinned?.release();
    ctx.metrics.requests.inc({ model, code: String(status) });
    ctx.metrics.latency.observe({ model }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
