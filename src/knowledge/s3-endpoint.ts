/**
 * An S3 store's config from the endpoint URL a server or an environment variable gives
 * (`http://10.99.0.1:9000`): host, port (the scheme's default when absent) and TLS from the URL.
 */
import type { KnowledgeStoreConfig } from './types.js';

export type S3StoreConfig = Extract<KnowledgeStoreConfig, { kind: 's3' }>;

export function s3StoreConfig(
  endpoint: string,
  credentials: { accessKey: string; secretKey: string },
  bucket: string,
): S3StoreConfig {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`an S3 endpoint must be a URL like http://127.0.0.1:9000, got ${JSON.stringify(endpoint)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`an S3 endpoint must be http:// or https://, got ${JSON.stringify(endpoint)}`);
  const useSSL = url.protocol === 'https:';
  return {
    kind: 's3',
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: credentials.accessKey,
    secretKey: credentials.secretKey,
    bucket,
  };
}
