/**
 * The model server's admin surface and the secrets a model-server ServiceSpec carries: /admin/model
 * needs the admin token when one is set, and otherwise answers loopback callers only; the S3 keys
 * travel as Secret references, never as values (a ServiceSpec is a workflow payload and becomes a
 * Deployment).
 */
import { describe, expect, it } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import { requireAdmin } from '../../../src/serving/admin-guard.js';
import { parseServerArguments } from '../../../src/serving/server-arguments.js';
import { modelServerService } from '../../../src/serving/service-spec.js';
import { S3_SECRET, storeSecrets } from '../../../src/serving/store-config.js';
import type { KnowledgeStoreConfig } from '../../../src/knowledge/types.js';

const TOKEN = 'a-long-admin-token-from-a-secret';
const request = (remoteAddress: string, authorization?: string) =>
  ({ headers: authorization ? { authorization } : {}, socket: { remoteAddress } }) as unknown as IncomingMessage;

describe('/admin/model', () => {
  it.each([
    ['loopback, no token configured', undefined, request('127.0.0.1')],
    ['IPv6 loopback, no token configured', undefined, request('::1')],
    ['IPv4-mapped loopback', undefined, request('::ffff:127.0.0.1')],
    ['the right token from anywhere', TOKEN, request('10.88.1.7', `Bearer ${TOKEN}`)],
  ])('admits %s', (_name, adminToken, req) => {
    expect(() => requireAdmin({ adminToken }, req)).not.toThrow();
  });

  it.each([
    ['a caller through a Service, no token configured', undefined, request('10.88.1.7'), 403],
    ['a node address, no token configured', undefined, request('10.99.0.1'), 403],
    ['no Authorization header', TOKEN, request('127.0.0.1'), 401],
    ['a wrong token', TOKEN, request('10.88.1.7', 'Bearer nope'), 401],
    ['a token of another length', TOKEN, request('10.88.1.7', `Bearer ${TOKEN}x`), 401],
    ['a Basic header', TOKEN, request('10.88.1.7', `Basic ${TOKEN}`), 401],
  ])('refuses %s', (_name, adminToken, req, status) => {
    expect(() => requireAdmin({ adminToken }, req)).toThrow(expect.objectContaining({ status }));
  });

  it('takes its token from SCANFLOW_ADMIN_TOKEN and refuses a short one', () => {
    const base = { SCANFLOW_STORE: '/tmp/x', SCANFLOW_MODEL: 'm' };
    expect(parseServerArguments([], { ...base, SCANFLOW_ADMIN_TOKEN: TOKEN }).adminToken).toBe(TOKEN);
    expect(parseServerArguments([], base).adminToken).toBeUndefined();
    expect(() => parseServerArguments([], { ...base, SCANFLOW_ADMIN_TOKEN: 'short' })).toThrow('shorter than 16');
    expect(() => parseServerArguments(['--admin-token-file', '/nonexistent'], base)).toThrow(
      '--admin-token-file: cannot read /nonexistent',
    );
  });
});

describe('a model-server ServiceSpec on S3', () => {
  const s3: KnowledgeStoreConfig = {
    kind: 's3',
    endPoint: '127.0.0.1',
    port: 7070,
    useSSL: false,
    accessKey: 'AKIA-VISIBLE-NOWHERE',
    secretKey: 'very-secret-s3-key',
    bucket: 'scanflow',
  };

  it('carries the keys as Secret references, never as values', () => {
    const spec = modelServerService({ name: 'model-server', model: 'mnist', replicas: 2, store: s3 });
    const text = JSON.stringify(spec);
    expect(text).not.toContain('very-secret-s3-key');
    expect(text).not.toContain('AKIA-VISIBLE-NOWHERE');
    expect(spec.env?.SCANFLOW_S3_ENDPOINT).toBe('http://127.0.0.1:7070');
    expect(spec.secretEnv).toEqual({
      SCANFLOW_S3_ACCESS_KEY: { secret: S3_SECRET, key: 'access-key' },
      SCANFLOW_S3_SECRET_KEY: { secret: S3_SECRET, key: 'secret-key' },
    });
  });

  it('gives the worker (local platform) the values the references resolve to', () => {
    expect(storeSecrets(s3)).toEqual({ [S3_SECRET]: { 'access-key': s3.accessKey, 'secret-key': s3.secretKey } });
    expect(storeSecrets({ kind: 'local', directory: '/tmp/k' })).toEqual({});
  });
});
