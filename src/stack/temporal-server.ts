import { join } from 'node:path';
import { binaryPath } from './binaries.js';
import { ManagedProcess, httpOk } from './process.js';
import { searchAttributeFlags } from '../agents/conventions.js';

export interface TemporalDevServerOptions {
  /** SQLite file that keeps namespaces, workflows and schedules across restarts. */
  dbFile: string;
  port: number;
  uiPort: number;
  logDir: string;
  namespace?: string;
  extraArgs?: string[];
}

export interface RunningTemporal {
  address: string;
  uiUrl: string;
  namespace: string;
  process: ManagedProcess;
}

/** `temporal server start-dev` with a persistent database, the Web UI and Scanflow's search attributes. */
export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<RunningTemporal> {
  const namespace = opts.namespace ?? 'default';
  const metricsPort = opts.uiPort + 1;
  const proc = await ManagedProcess.start({
    name: 'temporal',
    command: binaryPath('temporal'),
    args: [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(opts.port),
      '--ui-port',
      String(opts.uiPort),
      '--metrics-port',
      String(metricsPort),
      '--db-filename',
      opts.dbFile,
      '--namespace',
      namespace,
      '--log-level',
      'warn',
      ...searchAttributeFlags(),
      ...(opts.extraArgs ?? []),
    ],
    logFile: join(opts.logDir, 'temporal.log'),
    // Beside the database: a second start on the same database stops a server orphaned by kill -9.
    pidFile: `${opts.dbFile}.pid`,
    // The UI answers once the frontend serves; the metrics endpoint comes up with the server.
    ready: async () =>
      (await httpOk(`http://127.0.0.1:${opts.uiPort}/`)) && (await httpOk(`http://127.0.0.1:${metricsPort}/metrics`)),
    readyTimeoutMs: 90_000,
  });
  return { address: `127.0.0.1:${opts.port}`, uiUrl: `http://localhost:${opts.uiPort}`, namespace, process: proc };
}
