/**
 * Shutdown behind a Service (drainMs): a keep-alive client's connection stays pinned to the pod
 * after it left the endpoints, so closing idle connections at SIGTERM fails the client's next
 * request (3 failed requests in the Kubernetes demo's rolling update). While draining, the server
 * keeps answering and marks every answer `Connection: close`; the client's next request goes on a
 * new connection (elsewhere, behind a Service), and the close ends as soon as no connection is left.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { registryModelSource } from '../../src/serving/model-source.js';
import { ModelServer } from '../../src/serving/server.js';
import { inferBody, s3Store, seededRegistry, uniqueS3StoreConfig } from './fixtures.js';
import type { ModelRegistry } from '../../src/knowledge/model-registry.js';

function post(port: number, agent: Agent): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v2/models/mnist/infer',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
      },
    );
    req.on('error', reject);
    req.end(inferBody(1));
  });
}

describe('model server drain on close', () => {
  let registry: ModelRegistry;
  beforeAll(async () => {
    registry = await seededRegistry(s3Store(uniqueS3StoreConfig('drain')), 'mnist', 1);
  });

  const start = async (drainMs: number) => {
    const server = new ModelServer({
      modelName: 'mnist',
      source: registryModelSource(registry),
      processMetrics: false,
      drainMs,
      log: () => undefined,
    });
    return { server, port: await server.listen(0) };
  };

  const agents: Agent[] = [];
  afterAll(() => agents.forEach((a) => a.destroy()));

  it('answers with Connection: close while draining, and the close ends once the client has gone', async () => {
    const { server, port } = await start(20_000);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    expect(await post(port, agent)).toEqual({ status: 200, connection: 'keep-alive' });

    const closing = server.close();
    // The pinned keep-alive connection is still answered, and told to go.
    expect(await post(port, agent)).toEqual({ status: 200, connection: 'close' });
    // Its socket closes after that answer: the drain ends then, not at its 20 s bound.
    const first = await Promise.race([closing.then(() => 'closed'), sleep(15_000).then(() => 'still draining')]);
    expect(first).toBe('closed');
  });

  it('without drainMs the close does not wait for idle keep-alive connections', async () => {
    const { server, port } = await start(0);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    expect((await post(port, agent)).connection).toBe('keep-alive');
    await server.close();
  });
});
