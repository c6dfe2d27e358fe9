/**
 * S3-compatible backend through the `minio` client (any S3 server: versitygw in tests, MinIO,
 * AWS S3, Ceph). A single PUT is atomic in S3, and a conditional PUT (`If-Match` on the ETag
 * read, `If-None-Match: *` to create) is the compare-and-swap the registry's document relies on
 * across processes (see conditional.ts).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Client as MinioClient } from 'minio';
import type { ConditionalWrites, VersionedObject } from './conditional.js';
import { checkKey, checkPrefix, parseJson } from './keys.js';
import { KnowledgeError, type KnowledgeStore, type KnowledgeStoreConfig } from './types.js';

/** The S3 variant of KnowledgeStoreConfig, without its `kind` tag. */
export type S3StoreOptions = Omit<Extract<KnowledgeStoreConfig, { kind: 's3' }>, 'kind'> & {
  /** Idle time after which a silent request fails (default S3_IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number;
};

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound', 'NoSuchObject']);
/** A conditional PUT lost to another writer: 412, or 409 while a concurrent one is in flight (AWS). */
const CONDITION_FAILED_CODES = new Set(['PreconditionFailed', 'ConditionalRequestConflict']);

/** S3's bucket naming rule (as the minio client checks it): 3–63 of a-z 0-9 . -, letter or digit at both ends. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * A request whose connection stays silent this long fails (ETIMEDOUT) instead of waiting forever:
 * an S3 server that accepts connections but never answers (frozen, a black-holed route) would
 * otherwise stall the writer on that request (the prediction log's batch, a registry update).
 * Idle time, not total time: a large model upload that keeps sending is never cut.
 */
export const S3_IDLE_TIMEOUT_MS = 30_000;

type Transport = Pick<typeof http, 'request'>;

/** http(s).request with an idle timeout that destroys the request, so the client's promise rejects. */
function timedTransport(base: typeof http | typeof https, idleMs: number): Transport {
  return {
    request: ((options: http.RequestOptions, callback?: (res: http.IncomingMessage) => void) => {
      const req = base.request(options, callback);
      req.setTimeout(idleMs, () => {
        const err = new Error(`no answer from the S3 server for ${idleMs} ms`) as NodeJS.ErrnoException;
        err.code = 'ETIMEDOUT';
        req.destroy(err);
      });
      return req;
    }) as typeof http.request,
  };
}

/** Socket-level failures: the server is not there (stopped, unreachable), not an S3 answer. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown }; errors?: Array<{ code?: unknown }> };
  const code = e?.code ?? e?.cause?.code ?? e?.errors?.[0]?.code;
  return typeof code === 'string' ? code : '';
}

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

export class S3Store implements KnowledgeStore, ConditionalWrites {
  readonly location: string;
  private readonly client: MinioClient;
  private readonly bucket: string;
  private readonly prefix: string;
  /** The server's URL, for messages (an outage names the S3 server that is down). */
  private readonly endpoint: string;
  private bucketReady: Promise<void> | undefined;
  private conditionsHonoured: Promise<void> | undefined;

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
      transport: timedTransport(options.useSSL ? https : http, options.idleTimeoutMs ?? S3_IDLE_TIMEOUT_MS),
    });
    this.bucket = options.bucket;
    this.prefix = prefix;
    this.location = `s3://${this.bucket}${prefix ? `/${prefix.slice(0, -1)}` : ''}`;
    const ssl = options.useSSL ?? false;
    this.endpoint = `${ssl ? 'https' : 'http'}://${options.endPoint}:${options.port ?? (ssl ? 443 : 80)}`;
  }

  /** A Backend error saying what failed; when the server is not reachable, that the S3 server is down. */
  private failure(action: string, err: unknown): KnowledgeError {
    const detail = (err as Error)?.message || errorCode(err) || String(err);
    const why = UNREACHABLE_CODES.has(errorCode(err))
      ? `the S3 server at ${this.endpoint} is unreachable (${detail})`
      : detail;
    return new KnowledgeError('Backend', `cannot ${action}: ${why}`, { cause: err });
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
      throw this.failure(`reach bucket ${this.bucket}`, err);
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
      throw this.failure(`write ${this.location}/${key}`, err);
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
      throw this.failure(`read ${this.location}/${key}`, err);
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
      throw this.failure(`stat ${this.location}/${key}`, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    await this.ensureBucket();
    const keys: string[] = [];
    try {
      const stream = this.client.listObjectsV2(this.bucket, this.prefix + prefix, true);
      for await (const item of stream as AsyncIterable<{ name?: string }>) {
        if (item.name) keys.push(item.name.slice(this.prefix.length));
      }
    } catch (err) {
      throw this.failure(`list ${this.location}/${prefix}`, err);
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
      throw this.failure(`delete ${this.location}/${key}`, err);
    }
  }

  async getVersioned(key: string): Promise<VersionedObject | undefined> {
    const name = this.object(key);
    await this.ensureBucket();
    try {
      // One GET gives the bytes and the ETag of exactly those bytes.
      const stream = await this.client.getObject(this.bucket, name);
      const etag = (stream as { headers?: Record<string, string | string[] | undefined> }).headers?.etag;
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      if (typeof etag !== 'string' || etag.length === 0)
        throw new Error(`the S3 server sent no ETag for ${name}: conditional writes need one`);
      return { data: new Uint8Array(Buffer.concat(chunks)), tag: etag };
    } catch (err) {
      if (NOT_FOUND_CODES.has((err as { code?: string }).code ?? '')) return undefined;
      throw this.failure(`read ${this.location}/${key}`, err);
    }
  }

  async putIfUnchanged(
    key: string,
    data: Uint8Array,
    expectedTag: string | null,
    contentType = 'application/json',
  ): Promise<boolean> {
    const name = this.object(key);
    await this.ensureBucket();
    const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const condition = expectedTag === null ? { 'If-None-Match': '*' } : { 'If-Match': expectedTag };
    await this.checkConditionsHonoured();
    try {
      await this.client.putObject(this.bucket, name, body, body.length, { 'Content-Type': contentType, ...condition });
      return true;
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      // If-Match on an object deleted meanwhile answers NoSuchKey: it changed too.
      if (CONDITION_FAILED_CODES.has(code) || (expectedTag !== null && NOT_FOUND_CODES.has(code))) return false;
      throw this.failure(`write ${this.location}/${key}`, err);
    }
  }

  /**
   * A server that ignores the condition headers would turn every compare-and-swap into a blind
   * overwrite: check once per store, with a probe object created twice under `If-None-Match: *`.
   */
  private checkConditionsHonoured(): Promise<void> {
    this.conditionsHonoured ??= (async () => {
      const name = this.object(`_scanflow/conditional-probe-${randomBytes(8).toString('hex')}`);
      const body = Buffer.from('probe');
      const create = () => this.client.putObject(this.bucket, name, body, body.length, { 'If-None-Match': '*' });
      await create();
      const second = await create().then(
        () => 'accepted',
        (err: unknown) => ((err as { code?: string }).code === 'PreconditionFailed' ? 'refused' : err),
      );
      await this.client.removeObject(this.bucket, name).catch(() => undefined);
      if (second === 'accepted')
        throw new KnowledgeError(
          'InvalidInput',
          `the S3 server of ${this.location} ignores If-None-Match on PutObject: the model registry needs conditional writes (versitygw >= 1.8, AWS S3, MinIO, Ceph RGW honour them)`,
        );
      if (second !== 'refused') throw second;
    })().catch((err: unknown) => {
      this.conditionsHonoured = undefined;
      if (err instanceof KnowledgeError) throw err;
      throw this.failure(`reach ${this.location}`, err);
    });
    return this.conditionsHonoured;
  }
}
