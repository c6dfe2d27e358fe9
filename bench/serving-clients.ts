/**
 * The model-server benchmarks' clients and meters (bench/serving.ts, bench/serving-profile.ts):
 * one sender per protocol (JSON, binary tensors, gRPC; 1 image per request), a closed loop at a
 * given concurrency, and the CPU split between this process, the server's processes and the rest
 * of the machine (Linux /proc), so every figure can be read against the load it was taken under.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { encodePixels, inferBody } from '../src/loadgen/suts/http-oip.js';
import { inferenceServiceClient } from '../src/serving/grpc-server.js';

/** Distinct images cycled through by the clients. */
export const SAMPLES = 512;

export type Protocol = 'json' | 'binary' | 'grpc';
/** Sends one image (by index), resolves to its label; throws on a failed request. */
export type Send = (index: number) => Promise<number>;

// ---------- CPU accounting (Linux /proc) ----------
const ticks = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return 0;
  }
};
const children = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const tree = (pid: number): number[] => [pid, ...children(pid).flatMap(tree)];
const machine = (): { busy: number; total: number } => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + f[4]!;
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
};
export interface CpuSplit {
  client: number;
  server: number;
  rest: number;
  idle: number;
  /** CPU seconds the server's processes used (user + system): per request, the figure a busy machine moves least. */
  serverSeconds: number;
}
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const USER_HZ = 100;
export function cpuMeter(serverPid: number): () => CpuSplit {
  const pids = tree(serverPid);
  const s0 = pids.reduce((n, p) => n + ticks(p), 0);
  const c0 = ticks(process.pid);
  const m0 = machine();
  return () => {
    const s = pids.reduce((n, p) => n + ticks(p), 0) - s0;
    const c = ticks(process.pid) - c0;
    const m1 = machine();
    const total = m1.total - m0.total || 1;
    const busy = m1.busy - m0.busy;
    const pct = (x: number) => (100 * x) / total;
    return {
      client: pct(c),
      server: pct(s),
      rest: pct(Math.max(0, busy - s - c)),
      idle: pct(total - busy),
      serverSeconds: s / USER_HZ,
    };
  };
}
export const fmtCpu = (c: CpuSplit) =>
  `client ${c.client.toFixed(0)}% / server ${c.server.toFixed(0)}% / rest ${c.rest.toFixed(0)}% / idle ${c.idle.toFixed(0)}%`;
export const load = () => loadavg()[0]!.toFixed(2);

// ---------- clients ----------
export function senders(server: { url: string; grpcPort?: number }, images: Float32Array[]): Record<Protocol, Send> {
  const url = new URL(server.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const path = '/v2/models/mnist/infer';
  const jsonBodies = images.map((p) => inferBody([encodePixels(p)]));
  const binaryBodies = images.map((p) => {
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'images', shape: [1, 784], datatype: 'FP32', parameters: { binary_data_size: 784 * 4 } }],
        outputs: [{ name: 'label', parameters: { binary_data: true } }],
      }),
    );
    return {
      body: Buffer.concat([header, Buffer.from(p.buffer, p.byteOffset, p.byteLength)]),
      headerLength: header.length,
    };
  });
  const post = (body: string | Buffer, headers: Record<string, string | number>): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path,
          method: 'POST',
          agent,
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const all = Buffer.concat(chunks);
            if (res.statusCode !== 200) reject(new Error(`${res.statusCode} ${all.toString().slice(0, 200)}`));
            else resolve(Object.assign(all, { headerLength: Number(res.headers['inference-header-content-length']) }));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const json: Send = async (i) => {
    const out = JSON.parse((await post(jsonBodies[i]!, { 'content-type': 'application/json' })).toString()) as {
      outputs: Array<{ data: number[] }>;
    };
    return out.outputs[0]!.data[0]!;
  };
  const binary: Send = async (i) => {
    const { body, headerLength } = binaryBodies[i]!;
    const out = (await post(body, {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': headerLength,
    })) as Buffer & { headerLength: number };
    return Number(out.readBigInt64LE(out.headerLength));
  };
  let grpcSend: Send = () => Promise.reject(new Error('no gRPC port'));
  if (server.grpcPort !== undefined) {
    const Client = inferenceServiceClient();
    // Channelz off as on the server (grpc-server.ts): per-call tracing nobody reads.
    const client = new Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure(), {
      'grpc.enable_channelz': 0,
    }) as grpc.Client &
      Record<string, (r: object, cb: (e: Error | null, v: { raw_output_contents: Buffer[] }) => void) => void>;
    const raws = images.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    grpcSend = (i) =>
      new Promise((resolve, reject) =>
        client.ModelInfer!(
          {
            model_name: 'mnist',
            inputs: [{ name: 'images', datatype: 'FP32', shape: [1, 784] }],
            outputs: [{ name: 'label' }],
            raw_input_contents: [raws[i]!],
          },
          (err, v) => (err ? reject(err) : resolve(Number(v.raw_output_contents[0]!.readBigInt64LE(0)))),
        ),
      );
  }
  return { json, binary, grpc: grpcSend };
}

export interface Point {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  load: string;
  cpu: CpuSplit;
  /** Sorted latencies (ms) and the seconds they were taken over, to pool several rounds. */
  latencies: number[];
  elapsed: number;
}

const quantile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

/**
 * Several interleaved rounds of one point as one: requests/s over their total time, percentiles of
 * all their latencies, the load average range, the CPU split averaged. On a machine whose load
 * swings, rounds taken in turn with the other servers expose every server to the same swings.
 */
export function pool(rounds: Point[]): Point {
  const latencies = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const elapsed = rounds.reduce((n, r) => n + r.elapsed, 0);
  const loads = rounds.map((r) => Number(r.load));
  const mean = (f: (c: CpuSplit) => number) => rounds.reduce((n, r) => n + f(r.cpu), 0) / rounds.length;
  return {
    rps: latencies.length / elapsed,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    failed: rounds.reduce((n, r) => n + r.failed, 0),
    load: `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
    cpu: {
      client: mean((c) => c.client),
      server: mean((c) => c.server),
      rest: mean((c) => c.rest),
      idle: mean((c) => c.idle),
      serverSeconds: rounds.reduce((n, r) => n + r.cpu.serverSeconds, 0),
    },
    latencies,
    elapsed,
  };
}

export async function closedLoop(send: Send, concurrency: number, seconds: number, serverPid: number): Promise<Point> {
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const meter = cpuMeter(serverPid);
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await send(next++ % SAMPLES);
          latencies.push(performance.now() - t);
        } catch {
          failed += 1;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / elapsed,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    failed,
    load: load(),
    cpu: meter(),
    latencies,
    elapsed,
  };
}
