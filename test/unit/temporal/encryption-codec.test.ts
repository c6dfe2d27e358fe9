/** The payload encryption codec and its key file, including what it must refuse. */
import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec, ENCRYPTED_ENCODING, parseKeyFile } from '../../../src/temporal/encryption-codec.js';

const key = (id: string) => ({ id, key: randomBytes(32) });
const line = (id: string, bytes = 32) => `${id}:${randomBytes(bytes).toString('base64')}`;

describe('EncryptionCodec', () => {
  const secret = { s3SecretKey: 'do-not-show-me', version: 3 };
  const payload = defaultPayloadConverter.toPayload(secret);

  it('round-trips a payload and leaves no plaintext in the encoded one', async () => {
    const codec = new EncryptionCodec([key('k1')]);
    const [encoded] = await codec.encode([payload]);
    expect(Buffer.from(encoded!.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(encoded!.data!).includes('do-not-show-me')).toBe(false);
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(secret);
  });

  it('uses a fresh IV, so equal payloads encrypt differently', async () => {
    const codec = new EncryptionCodec([key('k1')]);
    const [a, b] = await codec.encode([payload, payload]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('decodes with an older key after rotation (new key on top)', async () => {
    const old = key('2026-10');
    const [encoded] = await new EncryptionCodec([old]).encode([payload]);
    const rotated = new EncryptionCodec([key('2026-11'), old]);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([encoded!]))[0]!)).toEqual(secret);
    const [reencoded] = await rotated.encode([payload]);
    expect(Buffer.from(reencoded!.metadata!['encryption-key-id']!).toString()).toBe('2026-11');
  });

  it('passes through payloads written before encryption was switched on', async () => {
    const [decoded] = await new EncryptionCodec([key('k1')]).decode([payload]);
    expect(decoded).toBe(payload);
  });

  it.each([
    [
      'a tampered ciphertext',
      (d: Buffer) => Buffer.concat([d.subarray(0, 20), Buffer.from([d[20]! ^ 1]), d.subarray(21)]),
      "failed authentication with key 'k1'",
    ],
    ['a truncated payload', (d: Buffer) => d.subarray(0, 10), 'too short'],
  ])('refuses %s', async (_name, damage, expected) => {
    const codec = new EncryptionCodec([key('k1')]);
    const [encoded] = await codec.encode([payload]);
    const data = damage(Buffer.from(encoded!.data!));
    await expect(codec.decode([{ ...encoded!, data }])).rejects.toThrow(expected);
  });

  it('names a key id it does not hold', async () => {
    const [encoded] = await new EncryptionCodec([key('gone')]).encode([payload]);
    await expect(new EncryptionCodec([key('k1')]).decode([encoded!])).rejects.toThrow(
      "key 'gone', which is not in the key file",
    );
  });
});

describe('key file', () => {
  it('reads keys in order, skipping blank lines and comments', () => {
    const keys = parseKeyFile(`# current first\n${line('new')}\n\n${line('old')}\n`);
    expect(keys.map((k) => k.id)).toEqual(['new', 'old']);
  });

  it.each([
    ['no key at all', '# nothing\n', 'holds no key'],
    ['a line without an id', line('').slice(1), "line 1: expected 'id:base64-key'"],
    ['a short key', line('k', 16), "key 'k' is 16 bytes, AES-256 needs 32"],
    ['a long key', line('k', 64), "key 'k' is 64 bytes"],
    ['a bad id', line('k 1'), "key id 'k 1' must be"],
    ['a repeated id', `${line('k')}\n${line('k')}`, "line 2: key id 'k' appears twice"],
  ])('refuses %s, naming the line', (_name, content, expected) => {
    expect(() => parseKeyFile(content, 'keys.txt')).toThrow(expected);
  });
});
