/** The codec server the Web UI calls: decode/encode, CORS for the UI origin only, bearer token, bad bodies. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter } from '@temporalio/common';
import { createCodecServer } from '../../../src/temporal/codec-server.js';
import { EncryptionCodec } from '../../../src/temporal/encryption-codec.js';

const codec = new EncryptionCodec([{ id: 'k1', key: randomBytes(32) }]);
const server = createCodecServer({ codec, allowedOrigins: ['http://localhost:8233'], token: 't0ken' });
let base = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const asJson = (p: { metadata?: Record<string, Uint8Array | null> | null; data?: Uint8Array | null }) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
  ),
  data: Buffer.from(p.data!).toString('base64'),
});
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer t0ken', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('codec server', () => {
  it('decodes what the workers encrypted, for the UI origin', async () => {
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload({ hello: 'world' })]);
    const res = await post('/decode', { payloads: [asJson(encrypted!)] }, { origin: 'http://localhost:8233' });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
    const { payloads } = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    expect(JSON.parse(Buffer.from(payloads[0]!.data, 'base64').toString())).toEqual({ hello: 'world' });
    expect(Buffer.from(payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
  });

  it('answers the CORS preflight', async () => {
    const res = await fetch(`${base}/decode`, { method: 'OPTIONS', headers: { origin: 'http://localhost:8233' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')).toContain('x-namespace');
  });

  it.each([
    ['another origin', '/decode', { payloads: [] }, { origin: 'http://evil.example' }, 403],
    ['no token', '/decode', { payloads: [] }, { authorization: '' }, 401],
    ['a wrong token', '/decode', { payloads: [] }, { authorization: 'Bearer nope' }, 401],
    ['a body that is not JSON', '/decode', '{payloads', {}, 400],
    ['payloads that are not a list', '/decode', { payloads: 'x' }, {}, 400],
    ['a payload whose data is not text', '/encode', { payloads: [{ data: 5 }] }, {}, 400],
    [
      'a payload that fails authentication',
      '/decode',
      {
        payloads: [
          {
            metadata: {
              encoding: Buffer.from('binary/encrypted').toString('base64'),
              'encryption-key-id': Buffer.from('k1').toString('base64'),
            },
            data: randomBytes(40).toString('base64'),
          },
        ],
      },
      {},
      422,
    ],
    ['another path', '/admin', {}, {}, 404],
  ])('refuses %s', async (_name, path, body, headers, status) => {
    const res = await post(path, body, headers as Record<string, string>);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: string }).error).toBeTruthy();
  });
});
