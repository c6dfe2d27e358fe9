/** A promise-returning client of inference.GRPCInferenceService for the serving tests. */
import * as grpc from '@grpc/grpc-js';
import { inferenceServiceClient } from '../../src/serving/grpc-server.js';

export type GrpcCall = (request: object) => Promise<Record<string, unknown>>;

export function grpcClient(port: number): { call: (method: string) => GrpcCall; close: () => void } {
  const Client = inferenceServiceClient();
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    call: (method) => (request) =>
      new Promise((resolve, reject) =>
        (client as unknown as Record<string, (r: object, cb: (e: Error | null, v: object) => void) => void>)[method]!(
          request,
          (err, value) => (err ? reject(err) : resolve(value as Record<string, unknown>)),
        ),
      ),
    close: () => client.close(),
  };
}
