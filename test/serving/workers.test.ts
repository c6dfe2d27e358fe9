/**
 * The model server as several processes sharing its ports (--workers 2, cluster.ts), started as the
 * platform starts it (src/serving/main.ts): both protocols answer, a hot version switch under load
 * on REST and gRPC together fails no request and reaches every worker, /metrics sums the workers,
 * each worker's TensorFlow gets its share of the cores, SIGTERM drains and exits 0.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { inferenceServiceClient } from '../../src/serving/grpc-server.js';
import { storeArgument } from '../../src/serving/store-config.js';
import { images, s3Store, seededRegistry, uniqueS3StoreConfig } from './fixtures.js';

const main = fileURLToPath(new URL('../../src/serving/main.ts', import.meta.url));
const body = JSON.stringify({ inputs: [{ name: 'images', shape: [1, 784], datatype: 'FP32', data: images(1, 3) }] });

describe('model server with 2 worker processes', () => {
  let child: ChildProcess;
  let info: { port: number; grpcPort: number; workers: number; intraOpThreads?: number };
  let client: grpc.Client &
    Record<string, (r: object, cb: (e: Error | null, v: { model_version: string }) => void) => void>;
  let exit: Promise<number | null>;

  beforeAll(async () => {
    const config = uniqueS3StoreConfig('workers');
    await seededRegistry(s3Store(config), 'mnist', 2);
    const store = storeArgument(config);
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        main,
        '--store',
        store.arg,
        '--model',
        'mnist',
        '--port',
        '0',
        '--grpc-port',
        '0',
        '--workers',
        '2',
        '--no-log',
      ],
      { env: { ...process.env, ...store.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    info = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.includes('"listening"'));
        if (line) resolve(JSON.parse(line) as typeof info);
      });
      void exit.then(() => reject(new Error(`server exited: ${stderr}`)));
    });
    const Client = inferenceServiceClient();
    client = new Client(`127.0.0.1:${info.grpcPort}`, grpc.credentials.createInsecure()) as typeof client;
  }, 90_000);
  afterAll(() => {
    client?.close();
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  const rest = async (): Promise<string> => {
    const res = await fetch(`http://127.0.0.1:${info.port}/v2/models/mnist/infer`, { method: 'POST', body });
    const answer = (await res.json()) as { model_version: string; error?: string };
    if (res.status !== 200) throw new Error(`${res.status} ${answer.error}`);
    return answer.model_version;
  };
  const rpc = (): Promise<string> =>
    new Promise((resolve, reject) =>
      client.ModelInfer!(
        {
          model_name: 'mnist',
          inputs: [{ name: 'images', datatype: 'FP32', shape: [1, 784] }],
          raw_input_contents: [Buffer.from(new Float32Array(images(1, 3)).buffer)],
        },
        (err, v) => (err ? reject(err) : resolve(v.model_version)),
      ),
    );

  it('switches every worker under REST and gRPC load with zero failed requests; /metrics sums the workers', async () => {
    expect(info.workers).toBe(2);
    let stop = false;
    const failures: string[] = [];
    const versions: string[] = [];
    const loop = (send: () => Promise<string>) => async () => {
      while (!stop)
        await send().then(
          (v) => versions.push(v),
          (e: Error) => failures.push(e.message),
        );
    };
    const clients = [...Array.from({ length: 6 }, loop(rest)), ...Array.from({ length: 6 }, loop(rpc))];
    await new Promise((r) => setTimeout(r, 500));
    const res = await fetch(`http://127.0.0.1:${info.port}/admin/model`, { method: 'POST', body: '{"version":2}' });
    expect(await res.json()).toMatchObject({ version: '2', previous: '1' });
    const switchedAt = versions.length;
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(clients);
    expect(failures).toEqual([]);
    expect(versions.slice(0, 10)).toContain('1');
    // After the admin call returned, every worker answers with version 2.
    expect(versions.slice(switchedAt + 12).every((v) => v === '2')).toBe(true);
    const metrics = await (await fetch(`http://127.0.0.1:${info.port}/metrics`)).text();
    const total = metrics
      .split('\n')
      .filter((l) => l.startsWith('scanflow_inference_requests_total{'))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(total).toBeGreaterThanOrEqual(versions.length);
    expect(metrics).toMatch(/^scanflow_model_version\{model="mnist"\} 2$/m);
    expect(metrics).toMatch(/^scanflow_model_switches_total\{model="mnist"\} 2$/m);
  });

  it("divides the cores among the workers' TensorFlow thread pools", () => {
    const expected = process.env.TF_NUM_INTRAOP_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / 2)));
    expect(info.intraOpThreads).toBe(Number(expected));
  });

  it('drains and exits 0 on SIGTERM', async () => {
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});
