/**
 * How a serving process (or the local platform) names its knowledge store on a command line:
 *   a directory path or file:///dir                       → local directory store
 *   s3://bucket[/prefix]                                  → S3, endpoint and keys from the environment
 *     (SCANFLOW_S3_ENDPOINT e.g. http://127.0.0.1:9000, SCANFLOW_S3_ACCESS_KEY, SCANFLOW_S3_SECRET_KEY)
 *   a JSON KnowledgeStoreConfig ('{"kind":"s3",...}')
 * Credentials stay in the environment so they never show in `ps` output.
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import type { KnowledgeStoreConfig } from '../knowledge/types.js';
import type { SecretKeyRef } from '../platform/types.js';
import { s3StoreConfig } from '../knowledge/s3-endpoint.js';

export function parseStoreArgument(value: string, env: NodeJS.ProcessEnv = process.env): KnowledgeStoreConfig {
  const text = value.trim();
  if (text === '')
    throw new Error('--store is empty: give a directory, file:///dir, s3://bucket/prefix or a JSON store config');
  if (text.startsWith('{')) {
    let config: unknown;
    try {
      config = JSON.parse(text);
    } catch (err) {
      throw new Error(`--store looks like JSON but does not parse: ${(err as Error).message}`);
    }
    const kind = (config as { kind?: unknown } | null)?.kind;
    if (kind !== 'local' && kind !== 's3')
      throw new Error(`--store JSON needs "kind": "local" or "s3", got ${JSON.stringify(kind)}`);
    return config as KnowledgeStoreConfig;
  }
  if (text.startsWith('s3://')) {
    const rest = text.slice('s3://'.length);
    const [bucket = '', ...prefix] = rest.split('/');
    if (!bucket) throw new Error(`--store ${text}: no bucket after s3://`);
    const endpoint = env.SCANFLOW_S3_ENDPOINT;
    const accessKey = env.SCANFLOW_S3_ACCESS_KEY;
    const secretKey = env.SCANFLOW_S3_SECRET_KEY;
    if (!endpoint || !accessKey || !secretKey) {
      throw new Error(
        `--store ${text} needs SCANFLOW_S3_ENDPOINT, SCANFLOW_S3_ACCESS_KEY and SCANFLOW_S3_SECRET_KEY in the environment`,
      );
    }
    let config: KnowledgeStoreConfig;
    try {
      config = s3StoreConfig(endpoint, { accessKey, secretKey }, bucket);
    } catch (err) {
      throw new Error(
        `SCANFLOW_S3_ENDPOINT must be a URL like http://127.0.0.1:9000 (http or https), got ${JSON.stringify(endpoint)}`,
        { cause: err },
      );
    }
    const joined = prefix.filter(Boolean).join('/');
    if (joined) config.prefix = `${joined}/`;
    return config;
  }
  return { kind: 'local', directory: text.startsWith('file://') ? fileURLToPath(text) : resolve(text) };
}

/** The inverse for the S3 case: the argument and the environment a child process needs. */
export function storeArgument(config: KnowledgeStoreConfig): { arg: string; env: Record<string, string> } {
  if (config.kind === 'local') return { arg: config.directory, env: {} };
  const scheme = config.useSSL ? 'https' : 'http';
  const port = config.port ?? (config.useSSL ? 443 : 80);
  const prefix = config.prefix ? `/${config.prefix.replace(/\/+$/, '')}` : '';
  return {
    arg: `s3://${config.bucket}${prefix}`,
    env: {
      SCANFLOW_S3_ENDPOINT: `${scheme}://${config.endPoint}:${port}`,
      SCANFLOW_S3_ACCESS_KEY: config.accessKey,
      SCANFLOW_S3_SECRET_KEY: config.secretKey,
    },
  };
}

/** The Secret holding the S3 keys where the platform runs services (created by the operator on Kubernetes). */
export const S3_SECRET = 'scanflow-s3';

/**
 * The store as a ServiceSpec carries it: the argument, the endpoint as plain env, and the keys only
 * as references to the Secret `scanflow-s3` (`access-key`, `secret-key`). The values never travel
 * in a workflow payload or a Deployment's env; `storeSecrets` gives a local platform the values.
 */
export function storeForService(config: KnowledgeStoreConfig): {
  arg: string;
  env: Record<string, string>;
  secretEnv: Record<string, SecretKeyRef>;
} {
  const { arg, env } = storeArgument(config);
  if (config.kind === 'local') return { arg, env, secretEnv: {} };
  return {
    arg,
    env: { SCANFLOW_S3_ENDPOINT: env.SCANFLOW_S3_ENDPOINT! },
    secretEnv: {
      SCANFLOW_S3_ACCESS_KEY: { secret: S3_SECRET, key: 'access-key' },
      SCANFLOW_S3_SECRET_KEY: { secret: S3_SECRET, key: 'secret-key' },
    },
  };
}

/** The Secret values a local platform resolves `storeForService`'s references with. */
export function storeSecrets(config: KnowledgeStoreConfig): Record<string, Record<string, string>> {
  if (config.kind === 'local') return {};
  return { [S3_SECRET]: { 'access-key': config.accessKey, 'secret-key': config.secretKey } };
}
