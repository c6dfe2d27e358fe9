// Bad input to the knowledge store: one named row per case, each asserting a KnowledgeError whose
// code says whether a retry can help and whose message names what is wrong. No server: the local
// directory backend runs on a temporary directory, the S3 cases fail before any request.
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkKey, checkPrefix } from '../../../src/knowledge/keys.js';
import { LocalDirectoryStore } from '../../../src/knowledge/local-store.js';
import { openKnowledgeStore } from '../../../src/knowledge/open-store.js';
import { KnowledgeError, type KnowledgeStore, type KnowledgeStoreConfig } from '../../../src/knowledge/types.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function localStore(): LocalDirectoryStore {
  const dir = mkdtempSync(join(tmpdir(), 'scanflow-kb-unit-'));
  dirs.push(dir);
  return new LocalDirectoryStore(dir);
}

/** Runs `work` and returns the KnowledgeError it throws (fails the test when it throws anything else). */
async function knowledgeError(work: () => unknown): Promise<KnowledgeError> {
  try {
    await work();
  } catch (err) {
    expect(err).toBeInstanceOf(KnowledgeError);
    return err as KnowledgeError;
  }
  throw new Error('expected a KnowledgeError, nothing was thrown');
}

describe('store keys', () => {
  it.each([
    ['empty', '', /key must be a non-empty string of at most 900 characters, got ""/],
    ['not a string', 42, /key must be a non-empty string .*got 42/],
    ['too long', 'a'.repeat(901), /at most 900 characters/],
    ['leading slash', '/abs/key.json', /"\/abs\/key\.json" is not a valid store key/],
    ['trailing slash', 'dir/', /"dir\/" is not a valid store key/],
    ['empty segment', 'a//b', /"a\/\/b" is not a valid store key/],
    ['parent segment', '../escape.json', /"\.\.\/escape\.json" is not a valid store key/],
    ['dot segment', 'a/./b', /"a\/\.\/b" is not a valid store key/],
    ['space', 'my file.json', /"my file\.json" is not a valid store key: use '\/'-separated segments/],
    ['backslash', 'a\\b', /is not a valid store key/],
    ['non-ASCII letter', 'modèle/v1', /"modèle\/v1" is not a valid store key/],
  ])('refuses a key that is %s', async (_case, key, message) => {
    const err = await knowledgeError(() => checkKey(key as string));
    expect(err.code).toBe('InvalidInput');
    expect(err.message).toMatch(message);
  });

  it('names the argument in the message', async () => {
    expect((await knowledgeError(() => checkKey('a//b', 'outputKey'))).message).toMatch(/^outputKey "a\/\/b"/);
  });

  it.each([
    ['leading slash', '/models/'],
    ['double slash', 'models//'],
    ['parent segment', '../'],
  ])('refuses a list prefix with a %s', async (_case, prefix) => {
    const err = await knowledgeError(() => checkPrefix(prefix));
    expect(err.code).toBe('InvalidInput');
    expect(err.message).toMatch(/^prefix .* is not a valid store key/);
  });

  type Operation = (store: KnowledgeStore) => Promise<unknown>;
  it.each<[string, Operation, RegExp]>([
    ['putBytes with a parent segment', (s) => s.putBytes('../x.bin', new Uint8Array(1)), /"\.\.\/x\.bin"/],
    ['getBytes with a leading slash', (s) => s.getBytes('/etc/passwd'), /"\/etc\/passwd"/],
    ['putJson with an empty key', (s) => s.putJson('', {}), /non-empty string/],
    ['getJson with an empty segment', (s) => s.getJson('a//b.json'), /"a\/\/b\.json"/],
    ['exists with a dot segment', (s) => s.exists('./x'), /"\.\/x"/],
    ['list with a bad prefix', (s) => s.list('/'), /prefix/],
    ['delete with a space', (s) => s.delete('a b'), /"a b"/],
  ])('the local store refuses %s', async (_case, operation, message) => {
    const err = await knowledgeError(() => operation(localStore()));
    expect(err.code).toBe('InvalidInput');
    expect(err.message).toMatch(message);
  });

  it.each<[string, Operation, string, RegExp]>([
    ['a missing key', (s) => s.getBytes('nothing/here.bin'), 'NotFound', /no object nothing\/here\.bin in file:/],
    [
      'bytes that are not JSON',
      async (s) => {
        await s.putBytes('half.json', Buffer.from('{"half":'));
        return s.getJson('half.json');
      },
      'Corrupt',
      /half\.json is not valid JSON/,
    ],
  ])('the local store names %s', async (_case, operation, code, message) => {
    const err = await knowledgeError(() => operation(localStore()));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });
});

describe('open-store config', () => {
  const s3 = { kind: 's3', endPoint: '127.0.0.1', port: 9000, accessKey: 'k', secretKey: 's', bucket: 'scanflow' };
  it.each([
    ['no config at all', undefined, /config\.kind must be 'local' or 's3', got undefined/],
    ['no kind', { directory: '/tmp/x' }, /config\.kind must be 'local' or 's3', got undefined/],
    ['an unknown kind', { kind: 'gcs', bucket: 'b' }, /config\.kind must be 'local' or 's3', got "gcs"/],
    ['a local store without a directory', { kind: 'local' }, /local store directory must be a non-empty path/],
    ['a local store with an empty directory', { kind: 'local', directory: '' }, /local store directory .* got ""/],
    ['a local directory that is not a string', { kind: 'local', directory: 7 }, /local store directory .* got 7/],
    ['an s3 store without an endPoint', { ...s3, endPoint: undefined }, /s3 store: endPoint must be a non-empty/],
    [
      'an s3 endPoint given as a URL',
      { ...s3, endPoint: 'http://127.0.0.1:9000' },
      /s3 store: endPoint must be a bare host name .* got "http:\/\/127\.0\.0\.1:9000"/,
    ],
    ['an s3 port out of range', { ...s3, port: 70000 }, /s3 store: port must be an integer in 1\.\.65535, got 70000/],
    ['an s3 port given as text', { ...s3, port: '9000' }, /s3 store: port must be an integer .* got "9000"/],
    ['useSSL given as text', { ...s3, useSSL: 'yes' }, /s3 store: useSSL must be true or false, got "yes"/],
    ['no access key', { ...s3, accessKey: '' }, /s3 store: accessKey must be a non-empty string/],
    ['no secret key', { ...s3, secretKey: undefined }, /s3 store: secretKey must be a non-empty string/],
    ['no bucket', { ...s3, bucket: '' }, /s3 store: bucket must be a non-empty name/],
    ['an upper-case bucket', { ...s3, bucket: 'Scanflow' }, /bucket "Scanflow" is not a valid S3 bucket name/],
    ['a two-letter bucket', { ...s3, bucket: 'kb' }, /bucket "kb" is not a valid S3 bucket name: 3–63 characters/],
    ['a bucket with a slash', { ...s3, bucket: 'team/kb' }, /bucket "team\/kb" is not a valid S3 bucket name/],
    ['a prefix without a trailing slash', { ...s3, prefix: 'scanflow' }, /prefix must end with '\/', got "scanflow"/],
    ['a prefix with a parent segment', { ...s3, prefix: '../' }, /s3 store prefix "\.\." is not a valid store key/],
  ])('refuses %s', async (_case, config, message) => {
    const err = await knowledgeError(() => openKnowledgeStore(config as KnowledgeStoreConfig));
    expect(err.code).toBe('InvalidInput');
    expect(err.message).toMatch(message);
  });

  it.each([
    ['a local directory', { kind: 'local', directory: '/tmp/scanflow-unit' }, 'file:///tmp/scanflow-unit'],
    ['an s3 bucket', s3, 's3://scanflow'],
    ['an s3 bucket with a prefix', { ...s3, prefix: 'team/kb/' }, 's3://scanflow/team/kb'],
  ])('opens %s (no request is made)', (_case, config, location) => {
    expect(openKnowledgeStore(config as KnowledgeStoreConfig).location).toBe(location);
  });
});
