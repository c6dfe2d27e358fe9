/** What a test file uses to reach the components started by global-setup.ts. */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: the test harness did not start this component (SCANFLOW_TEST_COMPONENTS=${process.env.SCANFLOW_TEST_COMPONENTS ?? 'all'})`,
    );
  }
  return value;
}

let runtimeInstalled = false;
/** One quiet Temporal runtime per test process (the native runtime is a process-wide singleton). */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Already installed by an earlier test file in this process.
  }
}

export interface TemporalTestContext {
  address: string;
  namespace: string;
  client: Client;
  clientConnection: Connection;
  workerConnection: NativeConnection;
  close(): Promise<void>;
}

export async function connectTemporal(): Promise<TemporalTestContext> {
  installQuietRuntime();
  const address = requireEnv('SCANFLOW_TEST_TEMPORAL_ADDRESS');
  const namespace = requireEnv('SCANFLOW_TEST_NAMESPACE');
  const clientConnection = await Connection.connect({ address });
  const workerConnection = await NativeConnection.connect({ address });
  const client = new Client({ connection: clientConnection, namespace });
  return {
    address,
    namespace,
    client,
    clientConnection,
    workerConnection,
    async close() {
      await clientConnection.close();
      await workerConnection.close();
      // The native runtime keeps the process alive until it is shut down; the next test file
      // in this process gets a fresh one.
      await Runtime.instance().shutdown();
      runtimeInstalled = false;
    },
  };
}

let counter = 0;
/** A task queue no other test uses, so workers of different tests never steal each other's tasks. */
export function uniqueTaskQueue(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

export function s3Config(): { endPoint: string; port: number; useSSL: boolean; accessKey: string; secretKey: string } {
  const url = new URL(requireEnv('SCANFLOW_TEST_S3_ENDPOINT'));
  return {
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: requireEnv('SCANFLOW_TEST_S3_ACCESS_KEY'),
    secretKey: requireEnv('SCANFLOW_TEST_S3_SECRET_KEY'),
  };
}
