/**
 * A model switch during a real S3 outage, asked of a `--workers 2` server (cluster.ts): the worker
 * that loads the model sees the store's Backend error, the primary relays it to the worker that
 * took the request, and the admin route answers 503 (retry can succeed) by the error's code, not
 * by its text; a version the registry lacks stays a 400. The S3 server is a private versitygw that
 * the test really stops and starts again on the same port and data.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Store } from '../../src/knowledge/s3-store.js';
import type { KnowledgeStoreConfig } from '../../src/knowledge/types.js';
import { storeArgument } from '../../src/serving/store-config.js';
import { freePort } from '../../src/stack/ports.js';
import { startS3Server, type RunningS3 } from '../../src/stack/s3-server.js';
import { images, seededRegistry } from '../serving/fixtures.js';

const main = fileURLToPath(new URL('../../src/serving/main.ts', import.meta.url));
const BUCKET = 'scanflow-outage-workers';
const body = JSON.stringify({ inputs: [{ name: 'images', shape: [1, 784], datatype: 'FP32', data: images(1, 5) }] });

describe('model switch on a --workers 2 server during a real S3 outage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scanflow-s3-outage-workers-'));
  const dataDir = join(dir, 'data');
  let port = 0;
  let s3: RunningS3 | undefined;
  let child: ChildProcess | undefined;
  let base = '';

  const startS3 = () =>
    startS3Server({
      dataDir,
      port,
      accessKey: 'outage-workers',
      secretKey: 'outage-workers-secret-0123456789',
      logDir: join(dir, 'logs'),
    });

  beforeAll(async () => {
    port = await freePort();
    mkdirSync(join(dataDir, BUCKET), { recursive: true });
    s3 = await startS3();
    const config: Extract<KnowledgeStoreConfig, { kind: 's3' }> = {
      kind: 's3',
      endPoint: '127.0.0.1',
      port,
      useSSL: false,
      accessKey: 'outage-workers',
      secretKey: 'outage-workers-secret-0123456789',
      bucket: BUCKET,
    };
    await seededRegistry(new S3Store(config), 'mnist', 2);
    const store = storeArgument(config);
    const args = ['--store', store.arg, '--model', 'mnist', '--port', '0', '--workers', '2', '--no-log'];
    child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
      env: { ...process.env, ...store.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const info = await new Promise<{ port: number; workers: number }>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.includes('"listening"'));
        if (line) resolve(JSON.parse(line) as { port: number; workers: number });
      });
      child!.once('exit', (code) => reject(new Error(`model server exited with ${code}: ${stderr}`)));
    });
    expect(info.workers).toBe(2);
    base = `http://127.0.0.1:${info.port}`;
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await s3?.process.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const adminSwitch = async (version: number | 'production') => {
    const res = await fetch(`${base}/admin/model`, { method: 'POST', body: JSON.stringify({ version }) });
    return { status: res.status, body: (await res.json()) as { version?: string; error?: string } };
  };
  const infer = async () => {
    const res = await fetch(`${base}/v2/models/mnist/infer`, { method: 'POST', body });
    return { status: res.status, body: (await res.json()) as { model_version?: string } };
  };

  it('answers 503 naming the S3 server while it is down, 400 for a missing version, and switches after', async () => {
    expect((await adminSwitch(7)).status).toBe(400);

    expect((await infer()).body.model_version).toBe('1'); // production

    await s3!.process.stop();
    const refused = await adminSwitch(2);
    expect(refused).toEqual({ status: 503, body: expect.anything() });
    expect(refused.body.error).toMatch(/workers refused: .*S3 server at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
    // Serving goes on with the version already loaded, in every worker.
    for (let i = 0; i < 8; i += 1)
      expect(await infer()).toEqual({ status: 200, body: expect.objectContaining({ model_version: '1' }) });

    s3 = await startS3();
    const switched = await adminSwitch(2);
    expect(switched.status).toBe(200);
    for (let i = 0; i < 8; i += 1) expect((await infer()).body.model_version).toBe('2');
  }, 120_000);
});
