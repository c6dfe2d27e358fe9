/** Temporal connection settings from the environment: TLS, mTLS, API key, with errors that name the variable. */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionOptions, temporalSettingsFrom } from '../../../src/temporal/connection-options.js';

const dir = mkdtempSync(join(tmpdir(), 'scanflow-conn-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

describe('Temporal connection settings', () => {
  it('defaults to a plain local connection', () => {
    const s = temporalSettingsFrom({}, 8233);
    expect(s).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', uiPort: 8233 });
    expect(connectionOptions(s)).toEqual({ address: '127.0.0.1:7233' });
  });

  it('builds mutual TLS and an API key from files (Temporal Cloud style)', () => {
    const env = {
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_TLS_CA_PATH: file('ca.pem', 'CA'),
      TEMPORAL_TLS_CERT_PATH: file('client.pem', 'CERT'),
      TEMPORAL_TLS_KEY_PATH: file('client.key', 'KEY'),
      TEMPORAL_TLS_SERVER_NAME: 'frontend',
      TEMPORAL_API_KEY_FILE: file('api-key', 'sekret\n'),
    };
    const options = connectionOptions(temporalSettingsFrom(env, 8233));
    expect(options.apiKey).toBe('sekret');
    expect(options.tls?.serverNameOverride).toBe('frontend');
    expect(Buffer.from(options.tls!.serverRootCACertificate!).toString()).toBe('CA');
    expect(Buffer.from(options.tls!.clientCertPair!.crt).toString()).toBe('CERT');
  });

  it('turns TLS on with TEMPORAL_TLS=true alone (system roots)', () => {
    expect(connectionOptions(temporalSettingsFrom({ TEMPORAL_TLS: 'true' }, 8233)).tls).toEqual({});
  });

  it.each([
    [
      'a certificate without its key',
      { TEMPORAL_TLS_CERT_PATH: '/x' },
      'TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together',
    ],
    ['both API key forms', { TEMPORAL_API_KEY: 'a', TEMPORAL_API_KEY_FILE: '/x' }, 'not both'],
    ['a TLS flag that is not a boolean', { TEMPORAL_TLS: 'yes' }, "TEMPORAL_TLS must be true or false, got 'yes'"],
  ])('refuses %s', (_name, env, expected) => {
    expect(() => temporalSettingsFrom(env, 8233)).toThrow(expected);
  });

  it.each([
    [
      'a missing CA file',
      { TEMPORAL_TLS_CA_PATH: '/nonexistent/ca.pem' },
      'TEMPORAL_TLS_CA_PATH: cannot read /nonexistent/ca.pem',
    ],
    ['a missing API key file', { TEMPORAL_API_KEY_FILE: '/nonexistent/key' }, 'TEMPORAL_API_KEY_FILE: cannot read'],
    [
      'an empty API key file',
      { TEMPORAL_API_KEY_FILE: file('empty', '\n') },
      'TEMPORAL_API_KEY_FILE: the file is empty',
    ],
  ])('names the variable of %s', (_name, env, expected) => {
    expect(() => connectionOptions(temporalSettingsFrom(env, 8233))).toThrow(expected);
  });
});
