/**
 * Connections to Temporal with Scanflow's settings applied: TLS / mTLS, API key, and the payload
 * encryption codec on every client and worker, so no path sends a payload in the clear when a
 * key file is configured.
 */
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { connectionOptions, type TemporalSettings } from './connection-options.js';
import { EncryptionCodec, readKeyFile } from './encryption-codec.js';

/** The data converter every client and worker uses (empty when payloads are not encrypted). */
export function dataConverter(settings: TemporalSettings): DataConverter {
  return settings.codecKeyFile ? { payloadCodecs: [new EncryptionCodec(readKeyFile(settings.codecKeyFile))] } : {};
}

export async function connectClient(
  settings: TemporalSettings,
  extra: { connectTimeout?: string } = {},
): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ ...connectionOptions(settings), ...extra });
  const client = new Client({ connection, namespace: settings.namespace, dataConverter: dataConverter(settings) });
  return { client, connection };
}

export function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(settings));
}
