/**
 * Against the real dev server: with a key file, workflow inputs and results are stored encrypted
 * (a client without the key sees no plaintext in history) and the codec server decodes them for the
 * UI; mutual TLS through a TLS front (the dev server has no TLS of its own) admits a client with a
 * certificate and refuses one without.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { connectClient, connectWorker, dataConverter } from '../../src/temporal/connect.js';
import { temporalSettingsFrom, type TemporalSettings } from '../../src/temporal/connection-options.js';
import { createCodecServer } from '../../src/temporal/codec-server.js';
import { EncryptionCodec, readKeyFile } from '../../src/temporal/encryption-codec.js';
import { installQuietRuntime, requireEnv, uniqueTaskQueue } from '../harness/env.js';

const workflowsPath = fileURLToPath(new URL('./workflows/echo.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'scanflow-security-'));
const address = () => requireEnv('SCANFLOW_TEST_TEMPORAL_ADDRESS');
const namespace = () => requireEnv('SCANFLOW_TEST_NAMESPACE');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('payload encryption', () => {
  it('keeps workflow payloads encrypted in history and decodes them through the codec server', async () => {
    installQuietRuntime();
    const keyFile = join(dir, 'codec-keys');
    writeFileSync(keyFile, `k1:${randomBytes(32).toString('base64')}\n`);
    const settings: TemporalSettings = {
      ...temporalSettingsFrom({ TEMPORAL_ADDRESS: address(), TEMPORAL_NAMESPACE: namespace() }, 8233),
      codecKeyFile: keyFile,
    };
    const taskQueue = uniqueTaskQueue('encrypted');
    const workerConnection = await connectWorker(settings);
    const worker = await Worker.create({
      connection: workerConnection,
      namespace: settings.namespace,
      taskQueue,
      workflowsPath,
      dataConverter: dataConverter(settings),
    });
    const { client, connection } = await connectClient(settings);
    const plain = await Connection.connect({ address: settings.address });
    try {
      const secret = `s3-secret-${randomBytes(6).toString('hex')}`;
      const result = await worker.runUntil(
        client.workflow.execute('echoWorkflow', { taskQueue, workflowId: `enc-${taskQueue}`, args: [{ secret }] }),
      );
      expect(result).toEqual({ echoed: secret });

      const history = await new Client({ connection: plain, namespace: settings.namespace }).workflow
        .getHandle(`enc-${taskQueue}`)
        .fetchHistory();
      const raw = JSON.stringify(history);
      expect(raw).not.toContain(secret);
      expect(raw).not.toContain(Buffer.from(secret).toString('base64'));
      const started = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
      expect(Buffer.from(started.metadata!.encoding!).toString()).toBe('binary/encrypted');

      const server = createCodecServer({ codec: new EncryptionCodec(readKeyFile(keyFile)), allowedOrigins: [] });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const body = {
          payloads: [
            {
              metadata: Object.fromEntries(
                Object.entries(started.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
              ),
              data: Buffer.from(started.data!).toString('base64'),
            },
          ],
        };
        const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/decode`, {
          method: 'POST',
          body: JSON.stringify(body),
        });
        const { payloads } = (await res.json()) as { payloads: { data: string }[] };
        expect(JSON.parse(Buffer.from(payloads[0]!.data, 'base64').toString())).toEqual({ secret });
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    } finally {
      await connection.close();
      await plain.close();
      await workerConnection.close();
    }
  });
});

describe('mutual TLS', () => {
  let front: TlsServer;
  let frontAddress = '';
  const pem = (name: string) => join(dir, name);

  beforeAll(async () => {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=scanflow-test-ca',
    );
    for (const [name, cn, ext] of [
      ['server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      ['client', 'scanflow-worker', 'extendedKeyUsage=clientAuth'],
    ] as const) {
      openssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${cn}`,
      );
      writeFileSync(pem(`${name}.ext`), `${ext}\n`);
      openssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      );
    }
    const [host, port] = address().split(':') as [string, string];
    // TLS terminates here; gRPC (HTTP/2) continues in the clear to the dev server.
    front = createTlsServer(
      {
        key: readFileSync(pem('server.key')),
        cert: readFileSync(pem('server.pem')),
        ca: readFileSync(pem('ca.pem')),
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ['h2'],
      },
      (socket) => {
        const upstream = connect(Number(port), host);
        socket.pipe(upstream).pipe(socket);
        const end = () => (socket.destroy(), upstream.destroy());
        socket.on('error', end);
        upstream.on('error', end);
      },
    );
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    frontAddress = `localhost:${(front.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => front.close(() => resolve())));

  it('admits a client with a certificate signed by the CA', async () => {
    const settings = temporalSettingsFrom(
      {
        TEMPORAL_ADDRESS: frontAddress,
        TEMPORAL_NAMESPACE: namespace(),
        TEMPORAL_TLS_CA_PATH: pem('ca.pem'),
        TEMPORAL_TLS_CERT_PATH: pem('client.pem'),
        TEMPORAL_TLS_KEY_PATH: pem('client.key'),
      },
      8233,
    );
    const { client, connection } = await connectClient(settings);
    try {
      const info = await client.workflowService.getSystemInfo({});
      expect(info.capabilities).toBeTruthy();
      const worker = await connectWorker(settings); // the worker's native (Rust) connection too
      await worker.close();
    } finally {
      await connection.close();
    }
  });

  it('refuses a client without a certificate', async () => {
    const settings = temporalSettingsFrom(
      { TEMPORAL_ADDRESS: frontAddress, TEMPORAL_NAMESPACE: namespace(), TEMPORAL_TLS_CA_PATH: pem('ca.pem') },
      8233,
    );
    await expect(connectClient(settings, { connectTimeout: '3s' })).rejects.toThrow();
  });
});
