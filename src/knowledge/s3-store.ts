/**
 * S3-compatible backend through the `minio` client (any S3 server: versitygw in tests, MinIO,
 * AWS S3, Ceph). A single PUT is atomic in S3, which the registry relies on.
 */
import { Client as MinioClient } from 'minio';
import { checkKey, checkPrefix, parseJson } from './keys.js';
import { KnowledgeError, type KnowledgeStore, type KnowledgeStoreConfig } from './types.js';

/** The S3 variant of KnowledgeStoreConfig, without its `kind` tag. */
export type S3StoreOptions = Omit<Extract<KnowledgeStoreConfig, { kind: 's3' }>, 'kind'>;

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound', 'NoSuchObject']);

/** S3's bucket naming rule (as the minio client checks it): 3–63 of a-z 0-9 . -, letter or digit at both ends. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const invalid = (message: string): KnowledgeError => new KnowledgeError('InvalidInput', `s3 store: ${message}`);

/**
 * Refuses options that could never work, naming the field, before any request: otherwise a bad
 * bucket name or endpoint surfaces later as a (retryable) back-end failure on every call.
 */
function checkS3Options(options: S3StoreOptions): void {
  if (!options || typeof options !== 'object') throw invalid('options must be an object');
  const { endPoint, port, useSSL, accessKey, secretKey, region, bucket, prefix } = options;
  if (typeof endPoint !== 'string' || endPoint.length === 0)
    throw invalid(`endPoint must be a non-empty host name or IP address, got ${JSON.stringify(endPoint)}`);
  if (endPoint.includes('/') || /\s/.test(endPoint))
    throw invalid(
      `endPoint must be a bare host name or IP address (no scheme, path or spaces; set port and useSSL apart), got ${JSON.stringify(endPoint)}`,
    );
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535))
    throw invalid(`port must be an integer in 1..65535, got ${JSON.stringify(port)}`);
  if (useSSL !== undefined && typeof useSSL !== 'boolean')
    throw invalid(`useSSL must be true or false, got ${JSON.stringify(useSSL)}`);
  if (typeof accessKey !== 'string' || accessKey.length === 0) throw invalid('accessKey must be a non-empty string');
  if (typeof secretKey !== 'string' || secretKey.length === 0) throw invalid('secretKey must be a non-empty string');
  if (region !== undefined && typeof region !== 'string')
    throw invalid(`region must be a string, got ${JSON.stringify(region)}`);
  if (!bucket) throw invalid('bucket must be a non-empty name');
  if (typeof bucket !== 'string' || !BUCKET_NAME.test(bucket) || bucket.includes('..'))
    throw invalid(
      `bucket ${JSON.stringify(bucket)} is not a valid S3 bucket name: 3–63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit`,
    );
  if (prefix !== undefined && prefix !== '') {
    if (typeof prefix !== 'string' || !prefix.endsWith('/'))
      throw invalid(`prefix must end with '/', got ${JSON.stringify(prefix)}`);
    checkKey(prefix.slice(0, -1), 's3 store prefix');
  }
}

export class S3Store implements KnowledgeStore {
  readonly location: string;
  private readonly client: MinioClient;
  private readonly bucket: string;
  private readonly prefix: string;
  private bucketReady: Promise<void> | undefined;

  constructor(options: S3StoreOptions) {
    checkS3Options(options);
    const prefix = options.prefix ?? '';
    this.client = new MinioClient({
      endPoint: options.endPoint,
      port: options.port,
      useSSL: options.useSSL ?? false,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: options.region,
      pathStyle: true,
    });
    this.bucket = options.bucket;
    this.prefix = prefix;
    this.location = `s3://${this.bucket}${prefix ? `/${prefix.slice(0, -1)}` : ''}`;
  }

  /** Creates the bucket on first use; tolerates another writer creating it at the same time. */
  private ensureBucket(): Promise<void> {
    this.bucketReady ??= (async () => {
      if (await this.client.bucketExists(this.bucket)) return;
      await this.client.makeBucket(this.bucket).catch(async (err: unknown) => {
        if (!(await this.client.bucketExists(this.bucket))) throw err;
      });
    })().catch((err: unknown) => {
      this.bucketReady = undefined;
      throw new KnowledgeError('Backend', `cannot reach bucket ${this.bucket}: ${(err as Error).message}`, {
        cause: err,
      });
    });
    return this.bucketReady;
  }

  private object(key: string): string {
    return this.prefix + checkKey(key);
  }

  async putBytes(key: string, data: Uint8Array, contentType = 'application/octet-stream'): Promise<void> {
    const name = this.object(key);
    await this.ensureBucket();
    const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    try {
      await this.client.putObject(this.bucket, name, body, body.length, { 'Content-Type': contentType });
    } catch (err) {
      throw new KnowledgeError('Backend', `cannot write ${this.location}/${key}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async getBytes(key: string): Promise<Uint8Array> {
    const name = this.object(key);
    await this.ensureBucket();
    try {
      const stream = await this.client.getObject(this.bucket, name);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return new Uint8Array(Buffer.concat(chunks));
    } catch (err) {
      if (NOT_FOUND_CODES.has((err as { code?: string }).code ?? '')) {
        throw new KnowledgeError('NotFound', `no object ${key} in ${this.location}`, { cause: err });
      }
      throw new KnowledgeError('Backend', `cannot read ${this.location}/${key}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.putBytes(key, Buffer.from(JSON.stringify(value)), 'application/json');
  }

  async getJson<T = unknown>(key: string): Promise<T> {
    return parseJson<T>(await this.getBytes(key), key, this.location);
  }

  async exists(key: string): Promise<boolean> {
    const name = this.object(key);
    await this.ensureBucket();
    try {
      await this.client.statObject(this.bucket, name);
      return true;
    } catch (err) {
      if (NOT_FOUND_CODES.has((err as { code?: string }).code ?? '')) return false;
      throw new KnowledgeError('Backend', `cannot stat ${this.location}/${key}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    await this.ensureBucket();
    const keys: string[] = [];
    const stream = this.client.listObjectsV2(this.bucket, this.prefix + prefix, true);
    for await (const item of stream as AsyncIterable<{ name?: string }>) {
      if (item.name) keys.push(item.name.slice(this.prefix.length));
    }
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    const name = this.object(key);
    await this.ensureBucket();
    try {
      await this.client.removeObject(this.bucket, name);
    } catch (err) {
      if (NOT_FOUND_CODES.has((err as { code?: string }).code ?? '')) return;
      throw new KnowledgeError('Backend', `cannot delete ${this.location}/${key}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}
