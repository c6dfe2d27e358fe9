/**
 * Makes a gRPC infer call visible to the batcher from its first byte, as REST requests are from
 * their headers (batcher.ts, the 'arrivals' policy). grpc-js hands the handler a call only once
 * its whole message is received and decoded, so without this a batch never waits for the calls
 * still arriving on the connection, and concurrent gRPC calls ran in smaller batches than the same
 * load over REST (src/serving/README.md). The arrival is held from the call's metadata until the
 * handler has been given the message (grpc-js calls it synchronously on half-close, and the
 * handler takes its own arrival at once, inference.ts), or until the call ends otherwise
 * (status sent, cancelled). A call whose message never comes holds batches back at most
 * `maxWaitMs`, the policy's bound.
 */
import { ServerInterceptingCall, ServerListenerBuilder, ResponderBuilder, type ServerInterceptor } from '@grpc/grpc-js';
import type { Arrival } from './batcher.js';

export function arrivalInterceptor(batcher: { arrive(): Arrival }, paths: ReadonlySet<string>): ServerInterceptor {
  return (method, call) => {
    if (!paths.has(method.path)) return new ServerInterceptingCall(call);
    let arrival: Arrival | undefined;
    const end = () => arrival?.done();
    return new ServerInterceptingCall(
      call,
      new ResponderBuilder()
        .withStart((next) =>
          next(
            new ServerListenerBuilder()
              .withOnReceiveMetadata((metadata, nextMetadata) => {
                arrival = batcher.arrive();
                nextMetadata(metadata);
              })
              .withOnReceiveHalfClose((nextHalfClose) => {
                nextHalfClose();
                end();
              })
              .withOnCancel(end)
              .build(),
          ),
        )
        .withSendStatus((status, nextStatus) => {
          end();
          nextStatus(status);
        })
        .build(),
    );
  };
}
