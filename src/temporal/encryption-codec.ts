/**
 * A payload codec that encrypts every Temporal payload with AES-256-GCM before it leaves the
 * process, so workflow inputs, results, signals and activity arguments are unreadable in the
 * server's database and in the Web UI unless a codec server with the key decodes them.
 *
 * Keys come from a key file (never a command line): one `id:base64-of-32-bytes` per line, the
 * first encrypts, all decrypt, so a key is rotated by putting a new one on top and keeping the
 * old ones until no history needs them.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
// A CommonJS package: its named exports are not visible to every ESM loader, the default export is.
import proto from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const { Payload: PayloadMessage } = proto.temporal.api.common.v1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const utf8 = new TextEncoder();
const text = new TextDecoder();

export interface CodecKey {
  id: string;
  key: Buffer;
}

/** Parses a key file's text; errors name the line and what is wrong with it. */
export function parseKeyFile(content: string, source = 'the key file'): CodecKey[] {
  const keys: CodecKey[] = [];
  content.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const where = `${source} line ${index + 1}`;
    if (colon <= 0) throw new Error(`${where}: expected 'id:base64-key'`);
    const id = line.slice(0, colon);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id))
      throw new Error(`${where}: key id '${id}' must be 1–64 of A-Z a-z 0-9 . _ -`);
    const key = Buffer.from(line.slice(colon + 1), 'base64');
    if (key.length !== 32) throw new Error(`${where}: key '${id}' is ${key.length} bytes, AES-256 needs 32`);
    if (keys.some((k) => k.id === id)) throw new Error(`${where}: key id '${id}' appears twice`);
    keys.push({ id, key });
  });
  if (keys.length === 0) throw new Error(`${source} holds no key`);
  return keys;
}

export function readKeyFile(path: string): CodecKey[] {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`SCANFLOW_CODEC_KEY_FILE: cannot read ${path}: ${(err as Error).message}`);
  }
  return parseKeyFile(content, path);
}

export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: CodecKey[]) {
    if (keys.length === 0) throw new Error('EncryptionCodec needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0]!;
    return payloads.map((payload) => {
      const plain = PayloadMessage.encode(payload).finish();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(id) },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || text.decode(encoding) !== ENCRYPTED_ENCODING) return payload; // written before encryption
      const idBytes = payload.metadata?.[KEY_ID_METADATA];
      const id = idBytes ? text.decode(idBytes) : '';
      const key = this.byId.get(id);
      if (!key) throw new Error(`payload encrypted with key '${id}', which is not in the key file`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw new Error('encrypted payload is too short to hold IV and tag');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new Error(`encrypted payload failed authentication with key '${id}' (tampered, or a different key)`);
      }
      return PayloadMessage.decode(plain) as Payload;
    });
  }
}
