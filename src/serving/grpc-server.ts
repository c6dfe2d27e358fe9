/**
 * The Open Inference Protocol v2 over gRPC: `inference.GRPCInferenceService` (grpc/grpc_predict_v2.proto,
 * KServe's messages) on @grpc/grpc-js, serving the same model slot, batcher, metrics and hot version
 * switch as the REST routes (one ServingContext). Tensors arrive in `raw_input_contents` (raw
 * little-endian bytes; the answer then comes in `raw_output_contents`) or in typed `contents`
 * (`fp32_contents`; the answer in `fp32_contents` / `int64_contents`). `parameters["sample_ids"]`
 * carries the prediction log's join key as on REST (see grpcSampleIds). A ProtocolError's HTTP status
 * maps to the gRPC code KServe uses for it (400 INVALID_ARGUMENT, 503 UNAVAILABLE, ...).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { arrivalInterceptor } from './grpc-arrivals.js';
import { runInference } from './inference.js';
import {
  IMAGE_SIZE,
  LABEL_OUTPUT,
  PROBABILITIES_OUTPUT,
  ProtocolError,
  checkInputHeader,
  fp32FromBytes,
  parseSampleIds,
  modelMetadata,
  serverMetadata,
  type InferAnswer,
  type InferRequest,
} from './protocol.js';
import { knownModel, requireModel, type ServingContext } from './serving-context.js';

export const GRPC_PROTO = fileURLToPath(new URL('./grpc/grpc_predict_v2.proto', import.meta.url));
/** Largest gRPC message: 4096 images of raw FP32 are 12.8 MB. */
export const MAX_GRPC_MESSAGE_BYTES = 16 * 1024 * 1024;

let definition: grpc.GrpcObject | undefined;
/** The loaded service definition (also what clients use: tests, the benchmark). */
export function grpcDefinition(): grpc.GrpcObject {
  definition ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(GRPC_PROTO, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true }),
  );
  return definition;
}

export function inferenceServiceClient(): grpc.ServiceClientConstructor {
  return (grpcDefinition().inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor;
}

const CODES: Record<number, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  404: grpc.status.NOT_FOUND,
  405: grpc.status.UNIMPLEMENTED,
  409: grpc.status.FAILED_PRECONDITION,
  413: grpc.status.RESOURCE_EXHAUSTED,
  503: grpc.status.UNAVAILABLE,
};

export function grpcError(err: unknown): grpc.ServiceError {
  const status = err instanceof ProtocolError ? err.status : 500;
  return Object.assign(new Error((err as Error).message), {
    code: CODES[status] ?? grpc.status.INTERNAL,
    details: (err as Error).message,
    metadata: new grpc.Metadata(),
  });
}

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  contents?: { fp32_contents?: number[] } | null;
}
/** An InferParameter as proto-loader decodes it (oneofs: true names the field that is set). */
interface Parameter {
  parameter_choice?: string;
  string_param?: string;
}
interface InferMessage {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, Parameter>;
  inputs: Tensor[];
  outputs: Array<{ name: string }>;
  raw_input_contents: Buffer[];
}

/** A ModelInferRequest as an InferRequest; `raw` tells whether the tensor came as raw bytes. */
export function decodeGrpcInfer(message: InferMessage): { request: InferRequest; raw: boolean } {
  const inputs = message.inputs ?? [];
  if (inputs.length !== 1)
    throw new ProtocolError(400, `inputs must hold exactly 1 tensor ("images"), got ${inputs.length}`);
  const { count } = checkInputHeader({ ...inputs[0], shape: inputs[0]!.shape });
  // Checked before any pixel is read, as on REST.
  const sampleIds = grpcSampleIds(message.parameters?.sample_ids, count);
  const n = count * IMAGE_SIZE;
  const raws = message.raw_input_contents ?? [];
  let images: Float32Array;
  if (raws.length > 0) {
    if (raws.length !== 1) throw new ProtocolError(400, `raw_input_contents has ${raws.length} entries for 1 input`);
    const raw = raws[0]!;
    if (raw.length !== n * 4)
      throw new ProtocolError(
        400,
        `raw_input_contents[0] has ${raw.length} bytes but the shape of FP32 needs ${n * 4}`,
      );
    images = fp32FromBytes(raw, 0, n, 'raw_input_contents[0]');
  } else {
    const values = inputs[0]!.contents?.fp32_contents ?? [];
    if (values.length !== n)
      throw new ProtocolError(
        400,
        `inputs[0].contents.fp32_contents has ${values.length} values but the shape needs ${n}`,
      );
    images = new Float32Array(n);
    for (let i = 0; i < n; i += 1) {
      const v = values[i]!;
      if (v - v !== 0) throw new ProtocolError(400, `inputs[0].contents.fp32_contents[${i}] is ${v}: not finite`);
      images[i] = v;
    }
  }
  const request: InferRequest = { images, count };
  if (sampleIds) request.sampleIds = sampleIds;
  if (message.id) {
    if (message.id.length > 256) throw new ProtocolError(400, 'id is longer than 256 characters');
    request.id = message.id;
  }
  const outputs = message.outputs ?? [];
  if (outputs.length > 0) {
    const names = new Set<string>();
    for (const [i, o] of outputs.entries()) {
      if (o.name !== PROBABILITIES_OUTPUT && o.name !== LABEL_OUTPUT)
        throw new ProtocolError(
          400,
          `outputs[${i}].name must be "${PROBABILITIES_OUTPUT}" or "${LABEL_OUTPUT}", got ${JSON.stringify(o.name)}`,
        );
      names.add(o.name);
    }
    request.outputs = names;
  }
  return { request, raw: raws.length > 0 };
}

/**
 * `parameters["sample_ids"]`: an InferParameter holds one scalar, so the ids travel as a
 * `string_param` with a JSON array, `'["s-1","s-2"]'`, one id (string or number) per image: the
 * same rule as REST's `parameters.sample_ids` (the prediction log's join key).
 */
function grpcSampleIds(parameter: Parameter | undefined, count: number): string[] | undefined {
  if (parameter === undefined) return undefined;
  const usage = 'parameters["sample_ids"] must be a string_param holding a JSON array of ids, one per image';
  if (parameter.parameter_choice !== 'string_param' || typeof parameter.string_param !== 'string')
    throw new ProtocolError(400, `${usage}, got ${parameter.parameter_choice ?? 'no value'}`);
  let ids: unknown;
  try {
    ids = JSON.parse(parameter.string_param);
  } catch (err) {
    throw new ProtocolError(400, `${usage}: ${(err as Error).message}`);
  }
  return parseSampleIds(ids, count);
}

export function encodeGrpcInfer(answer: InferAnswer, raw: boolean): Record<string, unknown> {
  const { count, prediction } = answer;
  const wanted = (name: string) => !answer.outputs || answer.outputs.has(name);
  const outputs: Array<Record<string, unknown>> = [];
  const rawOut: Buffer[] = [];
  if (wanted(PROBABILITIES_OUTPUT)) {
    const p = prediction.probabilities;
    const tensor: Record<string, unknown> = { name: PROBABILITIES_OUTPUT, datatype: 'FP32', shape: [count, 10] };
    if (raw) rawOut.push(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    else tensor.contents = { fp32_contents: Array.from(p) };
    outputs.push(tensor);
  }
  if (wanted(LABEL_OUTPUT)) {
    const tensor: Record<string, unknown> = { name: LABEL_OUTPUT, datatype: 'INT64', shape: [count] };
    if (raw) {
      const labels = BigInt64Array.from(prediction.labels, (l) => BigInt(l));
      rawOut.push(Buffer.from(labels.buffer, labels.byteOffset, labels.byteLength));
    } else tensor.contents = { int64_contents: Array.from(prediction.labels) };
    outputs.push(tensor);
  }
  return {
    model_name: answer.modelName,
    model_version: answer.version,
    id: answer.id,
    outputs,
    raw_output_contents: rawOut,
  };
}

type Unary = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => void;

/** The service's handlers over one ServingContext; every failure becomes a gRPC status, never a throw. */
export function grpcHandlers(ctx: ServingContext, version: string): Record<string, Unary> {
  const unary =
    <T>(fn: (request: T) => unknown): Unary =>
    (call, callback) => {
      Promise.resolve()
        .then(() => fn(call.request as T))
        .then(
          (value) => callback(null, value),
          (err: unknown) => callback(grpcError(err)),
        );
    };
  const metadata = () => modelMetadata(ctx.modelName, ctx.slot.version === undefined ? [] : [ctx.slot.version]);
  return {
    ServerLive: unary(() => ({ live: true })),
    ServerReady: unary(() => ({ ready: ctx.slot.ready })),
    ModelReady: unary((r: { name: string; version: string }) => ({
      ready: knownModel(ctx, r.name, r.version || undefined) && ctx.slot.ready,
    })),
    ServerMetadata: unary(() => serverMetadata(version)),
    ModelMetadata: unary((r: { name: string; version: string }) => {
      requireModel(ctx, r.name, r.version || undefined);
      return metadata();
    }),
    ModelInfer: unary(async (message: InferMessage) => {
      let raw = false;
      const { answer } = await runInference(ctx, message.model_name, message.model_version || undefined, () => {
        const decoded = decodeGrpcInfer(message);
        raw = decoded.raw;
        return decoded.request;
      });
      return encodeGrpcInfer(answer, raw);
    }),
  };
}

/** A gRPC server for `ctx`, bound to host:port (0 = any free port); resolves to it and the bound port. */
export async function startGrpcServer(
  ctx: ServingContext,
  version: string,
  port: number,
  host: string,
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_GRPC_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_GRPC_MESSAGE_BYTES,
    // Channelz (on by default in grpc-js) traces every call for a service this server does not
    // expose; off, each call skips that bookkeeping (src/serving/README.md, the gRPC profile).
    'grpc.enable_channelz': 0,
    interceptors: [arrivalInterceptor(ctx.batcher, new Set(['/inference.GRPCInferenceService/ModelInfer']))],
  });
  const service = inferenceServiceClient().service;
  server.addService(service, grpcHandlers(ctx, version));
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${host.includes(':') ? `[${host}]` : host}:${port}`,
      grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );
  return { server, port: bound };
}
