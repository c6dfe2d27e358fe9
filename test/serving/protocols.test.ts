/**
 * The model server's three protocols against a real S3-backed registry and native TensorFlow:
 * conformance of REST+JSON, REST with the binary tensor data extension and gRPC
 * (inference.GRPCInferenceService): health, metadata, infer, errors; the same answers from all
 * three for the same input; sample ids reaching the prediction log the same way from REST and gRPC;
 * a version switch under load on each with zero failed requests.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import {
  BatchedPredictionLogWriter,
  listPredictionBatches,
  readPredictionBatch,
} from '../../src/knowledge/prediction-log.js';
import type { KnowledgeStore } from '../../src/knowledge/types.js';
import { registryModelSource } from '../../src/serving/model-source.js';
import { ModelServer } from '../../src/serving/server.js';
import { images, s3Store, seededRegistry, uniqueS3StoreConfig } from './fixtures.js';
import { grpcClient } from './grpc-client.js';

interface JsonAnswer {
  model_name: string;
  model_version: string;
  id: string;
  outputs: Array<{
    name: string;
    shape: number[];
    datatype: string;
    data?: number[];
    parameters?: Record<string, number>;
  }>;
}

const N = 3;
const pixels = images(N, 5);
const jsonBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: 'same',
    inputs: [{ name: 'images', shape: [N, 784], datatype: 'FP32', data: pixels }],
    ...extra,
  });
const raw = Buffer.from(new Float32Array(pixels).buffer);

function binaryBody(outputsBinary: boolean): { body: Buffer; headerLength: number } {
  const header = Buffer.from(
    JSON.stringify({
      id: 'same',
      inputs: [{ name: 'images', shape: [N, 784], datatype: 'FP32', parameters: { binary_data_size: raw.length } }],
      ...(outputsBinary
        ? {
            outputs: [
              { name: 'probabilities', parameters: { binary_data: true } },
              { name: 'label', parameters: { binary_data: true } },
            ],
          }
        : {}),
    }),
  );
  return { body: Buffer.concat([header, raw]), headerLength: header.length };
}

describe('model server protocols: JSON, binary tensors, gRPC', () => {
  let server: ModelServer;
  let base: string;
  let rpc: ReturnType<typeof grpcClient>;
  let store: KnowledgeStore;

  beforeAll(async () => {
    store = s3Store(uniqueS3StoreConfig('protocols'));
    const registry = await seededRegistry(store, 'mnist', 3);
    server = new ModelServer({
      modelName: 'mnist',
      source: registryModelSource(registry),
      predictionLog: new BatchedPredictionLogWriter(store, {
        model: 'mnist',
        batchSize: 50,
        flushIntervalMs: 0,
        writerId: 'protocols',
      }),
      grpcPort: 0,
      batching: { maxBatchSize: 64, maxWaitMs: 2 },
      processMetrics: false,
      log: () => undefined,
    });
    base = `http://127.0.0.1:${await server.listen(0)}`;
    rpc = grpcClient(server.grpcPort!);
  });
  afterAll(async () => {
    rpc?.close();
    await server?.close();
  });

  const postJson = async (body: string) => {
    const res = await fetch(`${base}/v2/models/mnist/infer`, { method: 'POST', body });
    return { status: res.status, body: (await res.json()) as JsonAnswer & { error?: string } };
  };
  const postBinary = async ({ body, headerLength }: { body: Buffer; headerLength: number }) => {
    const res = await fetch(`${base}/v2/models/mnist/infer`, {
      method: 'POST',
      body,
      headers: { 'inference-header-content-length': String(headerLength), 'content-type': 'application/octet-stream' },
    });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const grpcInfer = (version = '') =>
    rpc.call('ModelInfer')({
      model_name: 'mnist',
      model_version: version,
      id: 'same',
      inputs: [{ name: 'images', datatype: 'FP32', shape: [N, 784] }],
      raw_input_contents: [raw],
    });

  it('gRPC: live, ready, metadata, model ready, with the same content as REST', async () => {
    expect(await rpc.call('ServerLive')({})).toEqual({ live: true });
    expect(await rpc.call('ServerReady')({})).toEqual({ ready: true });
    expect(await rpc.call('ModelReady')({ name: 'mnist', version: '' })).toEqual({ ready: true });
    expect(await rpc.call('ModelReady')({ name: 'mnist', version: '9' })).toEqual({ ready: false });
    expect(await rpc.call('ModelReady')({ name: 'other', version: '' })).toEqual({ ready: false });
    const meta = await rpc.call('ServerMetadata')({});
    expect(meta).toMatchObject({
      name: 'scanflow-model-server',
      extensions: expect.arrayContaining(['binary_tensor_data']),
    });
    const restMeta = (await (await fetch(`${base}/v2/models/mnist`)).json()) as Record<string, unknown>;
    expect(await rpc.call('ModelMetadata')({ name: 'mnist', version: '' })).toEqual(restMeta);
    await expect(rpc.call('ModelMetadata')({ name: 'other', version: '' })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/unknown model "other"/),
    });
  });

  it('answers the same input identically over JSON, binary (JSON and binary outputs) and gRPC (raw and typed)', async () => {
    const json = await postJson(jsonBody());
    expect(json.status).toBe(200);
    const probabilities = json.body.outputs.find((o) => o.name === 'probabilities')!.data!;
    const labels = json.body.outputs.find((o) => o.name === 'label')!.data!;
    expect(labels).toHaveLength(N);

    // Binary request, JSON outputs: the same JSON.
    const binJson = await postBinary(binaryBody(false));
    expect(binJson.status).toBe(200);
    expect(JSON.parse(binJson.bytes.toString())).toEqual(json.body);

    // Binary request and outputs: header + raw FP32 probabilities + raw INT64 labels.
    const bin = await postBinary(binaryBody(true));
    expect(bin.status).toBe(200);
    const headerLength = Number(bin.headers.get('inference-header-content-length'));
    const header = JSON.parse(bin.bytes.subarray(0, headerLength).toString()) as JsonAnswer;
    expect(header.outputs.map((o) => [o.name, o.datatype, o.shape, o.parameters?.binary_data_size])).toEqual([
      ['probabilities', 'FP32', [N, 10], N * 10 * 4],
      ['label', 'INT64', [N], N * 8],
    ]);
    const rest = bin.bytes.subarray(headerLength);
    const binProbs = new Float32Array(rest.buffer.slice(rest.byteOffset, rest.byteOffset + N * 40));
    const binLabels = new BigInt64Array(rest.buffer.slice(rest.byteOffset + N * 40, rest.byteOffset + N * 48));
    expect(Array.from(binProbs)).toEqual(probabilities);
    expect(Array.from(binLabels, Number)).toEqual(labels);

    // gRPC with raw contents: raw outputs.
    const g = await grpcInfer();
    expect(g).toMatchObject({ model_name: 'mnist', model_version: json.body.model_version, id: 'same' });
    const [gp, gl] = g.raw_output_contents as Buffer[];
    expect(Array.from(new Float32Array(gp!.buffer.slice(gp!.byteOffset, gp!.byteOffset + gp!.length)))).toEqual(
      probabilities,
    );
    expect(
      Array.from(new BigInt64Array(gl!.buffer.slice(gl!.byteOffset, gl!.byteOffset + gl!.length)), Number),
    ).toEqual(labels);

    // gRPC with typed contents: typed outputs.
    const typed = await rpc.call('ModelInfer')({
      model_name: 'mnist',
      inputs: [{ name: 'images', datatype: 'FP32', shape: [N, 28, 28, 1], contents: { fp32_contents: pixels } }],
    });
    const outs = typed.outputs as Array<{
      name: string;
      contents: { fp32_contents: number[]; int64_contents: number[] };
    }>;
    expect(outs[0]!.contents.fp32_contents).toEqual(probabilities);
    expect(outs[1]!.contents.int64_contents).toEqual(labels);
  });

  it('refuses bad input on each protocol with a 400 / INVALID_ARGUMENT naming the problem', async () => {
    const bad = [...pixels];
    bad[3] = 1e39;
    const j = await postJson(
      JSON.stringify({ inputs: [{ name: 'images', shape: [N, 784], datatype: 'FP32', data: bad }] }),
    );
    expect(j).toMatchObject({ status: 400, body: { error: expect.stringMatching(/FP32 range/) } });
    const b = binaryBody(false);
    const short = await postBinary({ body: b.body.subarray(0, b.body.length - 4), headerLength: b.headerLength });
    expect(short.status).toBe(400);
    expect(JSON.parse(short.bytes.toString()).error).toMatch(/bytes follow the JSON header/);
    const nan = Buffer.from(raw);
    nan.writeFloatLE(Number.NaN, 8);
    const cases: Array<[object, RegExp]> = [
      [
        {
          model_name: 'mnist',
          inputs: [{ name: 'images', datatype: 'FP32', shape: [N, 784] }],
          raw_input_contents: [nan],
        },
        /finite/,
      ],
      [
        {
          model_name: 'mnist',
          inputs: [{ name: 'images', datatype: 'INT8', shape: [N, 784] }],
          raw_input_contents: [raw],
        },
        /FP32/,
      ],
      [
        {
          model_name: 'mnist',
          inputs: [{ name: 'images', datatype: 'FP32', shape: [N, 784] }],
          raw_input_contents: [raw.subarray(4)],
        },
        /bytes/,
      ],
      [
        {
          model_name: 'mnist',
          inputs: [{ name: 'images', datatype: 'FP32', shape: [N + 1, 784] }],
          raw_input_contents: [raw],
        },
        /bytes/,
      ],
      [
        {
          model_name: 'nope',
          inputs: [{ name: 'images', datatype: 'FP32', shape: [N, 784] }],
          raw_input_contents: [raw],
        },
        /unknown model/,
      ],
      [{ model_name: 'mnist', inputs: [] }, /exactly 1 tensor/],
    ];
    for (const [request, message] of cases)
      await expect(rpc.call('ModelInfer')(request)).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: expect.stringMatching(message),
      });
  });

  it('gRPC: parameters["sample_ids"] (a JSON array in string_param) reach the prediction log as REST\'s do', async () => {
    const rest = await postJson(jsonBody({ parameters: { sample_ids: ['r-0', 'r-1', 'r-2'] } }));
    expect(rest.status).toBe(200);
    const g = await rpc.call('ModelInfer')({
      model_name: 'mnist',
      inputs: [{ name: 'images', datatype: 'FP32', shape: [N, 784] }],
      raw_input_contents: [raw],
      parameters: { sample_ids: { string_param: '["g-0", 1, "g-2"]' } },
    });
    expect(g.model_version).toBe(rest.body.model_version);
    const bad: Array<[object, RegExp]> = [
      [{ string_param: '["only-one"]' }, /sample_ids has 1 ids for 3 images/],
      [{ string_param: 'g-0,g-1,g-2' }, /JSON array of ids/],
      [{ string_param: '[{"x":1},"b","c"]' }, /array of strings or numbers/],
      [{ int64_param: 3 }, /must be a string_param.*got int64_param/],
    ];
    for (const [parameter, message] of bad)
      await expect(
        rpc.call('ModelInfer')({
          model_name: 'mnist',
          inputs: [{ name: 'images', datatype: 'FP32', shape: [N, 784] }],
          raw_input_contents: [raw],
          parameters: { sample_ids: parameter },
        }),
      ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(message) });
    expect(await server.flushPredictionLog()).toBe(0);
    const records = (
      await Promise.all((await listPredictionBatches(store, 'mnist')).map((k) => readPredictionBatch(store, k)))
    ).flat();
    const byId = new Map(records.map((r) => [r.id, r]));
    // Same images, same version: the same predictions under either protocol's ids; refused requests logged nothing.
    for (const [r, g] of [
      ['r-0', 'g-0'],
      ['r-1', '1'],
      ['r-2', 'g-2'],
    ] as const) {
      expect(byId.get(g)).toMatchObject({ predicted: byId.get(r)!.predicted, modelVersion: byId.get(r)!.modelVersion });
      expect(byId.get(g)!.confidence).toBeCloseTo(byId.get(r)!.confidence, 6);
    }
    expect(records.filter((r) => r.id === 'only-one')).toHaveLength(0);
  });

  it.each(['json', 'binary', 'grpc'] as const)(
    'switches version under load over %s with zero failed requests',
    async (protocol) => {
      const before = server.slot.version!;
      const target = before === '3' ? 2 : Number(before) + 1;
      const one = async (): Promise<string> => {
        if (protocol === 'json') {
          const r = await postJson(jsonBody());
          if (r.status !== 200) throw new Error(`${r.status} ${r.body.error}`);
          return r.body.model_version;
        }
        if (protocol === 'binary') {
          const r = await postBinary(binaryBody(true));
          if (r.status !== 200) throw new Error(`${r.status} ${r.bytes.toString()}`);
          const h = JSON.parse(
            r.bytes.subarray(0, Number(r.headers.get('inference-header-content-length'))).toString(),
          ) as JsonAnswer;
          return h.model_version;
        }
        return String((await grpcInfer()).model_version);
      };
      let stop = false;
      const failures: string[] = [];
      const versions: string[] = [];
      const clients = Array.from({ length: 8 }, async () => {
        while (!stop)
          await one().then(
            (v) => versions.push(v),
            (err: Error) => failures.push(err.message),
          );
      });
      await new Promise((r) => setTimeout(r, 200));
      const res = await fetch(`${base}/admin/model`, { method: 'POST', body: JSON.stringify({ version: target }) });
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await Promise.all(clients);
      expect(failures).toEqual([]);
      expect(versions).toContain(before);
      expect(versions[versions.length - 1]).toBe(String(target));
      expect(versions.length).toBeGreaterThan(20);
    },
  );
});
