/**
 * How Scanflow reaches Temporal: address and namespace, TLS or mutual TLS, an API key (Temporal
 * Cloud), and the payload encryption key file. Read from the same environment variables as the
 * `temporal` CLI (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS*, TEMPORAL_API_KEY), so one
 * environment serves both; secrets are read from files or the environment, never from flags.
 */
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';

export interface TemporalSettings {
  address: string;
  namespace: string;
  uiPort: number;
  tls?: { serverName?: string; caFile?: string; certFile?: string; keyFile?: string };
  /** The API key itself (TEMPORAL_API_KEY) or a file that holds it (TEMPORAL_API_KEY_FILE, e.g. a mounted Secret). */
  apiKey?: { value: string } | { file: string };
  /** Payload encryption keys (SCANFLOW_CODEC_KEY_FILE); unset = payloads in the clear. */
  codecKeyFile?: string;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').toLowerCase();
  if (raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new Error(`${name} must be true or false, got '${env[name]}'`);
}

export function temporalSettingsFrom(env: NodeJS.ProcessEnv, uiPort: number): TemporalSettings {
  const tlsFiles = {
    caFile: env.TEMPORAL_TLS_CA_PATH || undefined,
    certFile: env.TEMPORAL_TLS_CERT_PATH || undefined,
    keyFile: env.TEMPORAL_TLS_KEY_PATH || undefined,
    serverName: env.TEMPORAL_TLS_SERVER_NAME || undefined,
  };
  const wantsTls = flag(env, 'TEMPORAL_TLS') || Object.values(tlsFiles).some((v) => v !== undefined);
  if (Boolean(tlsFiles.certFile) !== Boolean(tlsFiles.keyFile)) {
    throw new Error('TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together (mutual TLS needs both)');
  }
  if (env.TEMPORAL_API_KEY && env.TEMPORAL_API_KEY_FILE) {
    throw new Error('set TEMPORAL_API_KEY or TEMPORAL_API_KEY_FILE, not both');
  }
  return {
    address: env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    uiPort,
    tls: wantsTls ? tlsFiles : undefined,
    apiKey: env.TEMPORAL_API_KEY
      ? { value: env.TEMPORAL_API_KEY }
      : env.TEMPORAL_API_KEY_FILE
        ? { file: env.TEMPORAL_API_KEY_FILE }
        : undefined,
    codecKeyFile: env.SCANFLOW_CODEC_KEY_FILE || undefined,
  };
}

function readSecretFile(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${variable}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/** The options both `Connection.connect` (client) and `NativeConnection.connect` (worker) take. */
export function connectionOptions(settings: TemporalSettings): { address: string; tls?: TLSConfig; apiKey?: string } {
  const { tls } = settings;
  const tlsConfig: TLSConfig | undefined = tls
    ? {
        serverNameOverride: tls.serverName,
        serverRootCACertificate: tls.caFile ? readSecretFile('TEMPORAL_TLS_CA_PATH', tls.caFile) : undefined,
        clientCertPair:
          tls.certFile && tls.keyFile
            ? {
                crt: readSecretFile('TEMPORAL_TLS_CERT_PATH', tls.certFile),
                key: readSecretFile('TEMPORAL_TLS_KEY_PATH', tls.keyFile),
              }
            : undefined,
      }
    : undefined;
  const apiKey = settings.apiKey
    ? 'value' in settings.apiKey
      ? settings.apiKey.value
      : readSecretFile('TEMPORAL_API_KEY_FILE', settings.apiKey.file).toString('utf8').trim()
    : undefined;
  if (apiKey !== undefined && apiKey === '') throw new Error('TEMPORAL_API_KEY_FILE: the file is empty');
  return { address: settings.address, ...(tlsConfig ? { tls: tlsConfig } : {}), ...(apiKey ? { apiKey } : {}) };
}
