/**
 * An S3 server that accepts connections and never answers (frozen, a black-holed route): each
 * request fails after the store's idle timeout with a Backend error naming the S3 server, instead
 * of stalling its writer forever. The "server" is a TCP socket in this process that swallows
 * every byte: a fault a real S3 server cannot be made to show on demand.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server, type Socket } from 'node:net';
import { S3Store } from '../../../src/knowledge/s3-store.js';
import { KnowledgeError } from '../../../src/knowledge/types.js';

describe('S3 store against a frozen server', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let port = 0;
  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('a write fails after the idle timeout with an error that names the S3 server', async () => {
    const store = new S3Store({
      endPoint: '127.0.0.1',
      port,
      bucket: 'frozen',
      accessKey: 'k',
      secretKey: 'secret-key',
      idleTimeoutMs: 300,
    });
    const err = await store.putJson('a/b.json', { x: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KnowledgeError);
    expect((err as KnowledgeError).code).toBe('Backend');
    expect((err as Error).message).toContain(`the S3 server at http://127.0.0.1:${port} is unreachable`);
    expect((err as Error).message).toContain('no answer from the S3 server for 300 ms');
  });
});
