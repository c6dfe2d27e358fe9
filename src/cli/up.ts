/**
 * `scanflow up`: the embedded one-machine stack. Starts the Temporal dev server on a
 * persistent SQLite file under .scanflow/ (agents, schedules and history survive a restart),
 * the Web UI, Scanflow's search attributes, and the workers in this process. Ctrl-C drains
 * the workers, then stops the server.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ScanflowConfig } from '../config.js';
import { runWorkers } from '../../workers/run.js';
import { parseRoles } from '../../workers/parse-roles.js';
import { startTemporalDevServer } from '../stack/temporal-server.js';
import { startCodecServer } from './codec-server.js';

export interface UpOptions {
  config: ScanflowConfig;
  /** Start only the server (workers run elsewhere). */
  noWorkers?: boolean;
  log?: (line: string) => void;
}

export async function up(opts: UpOptions): Promise<void> {
  const { config } = opts;
  const log = opts.log ?? ((l: string) => console.log(l));
  mkdirSync(config.home, { recursive: true });
  const [host, portText] = config.temporal.address.split(':');
  if (host !== '127.0.0.1' && host !== 'localhost') {
    throw new Error(
      `scanflow up runs a local server: TEMPORAL_ADDRESS must be 127.0.0.1:<port> or localhost:<port>, got '${config.temporal.address}'`,
    );
  }
  const dbFile = join(config.home, 'temporal.db');
  // Encrypted payloads: the Web UI decodes them through a codec server holding the key.
  const codec = config.temporal.codecKeyFile
    ? await startCodecServer(config.temporal, {
        port: config.temporal.uiPort + 2,
        uiOrigin: `http://localhost:${config.temporal.uiPort}`,
      })
    : undefined;
  if (codec) log(`[scanflow] payloads are encrypted; the Web UI decodes them through ${codec.url}`);
  log(`[scanflow] starting the Temporal dev server (database ${dbFile})`);
  const server = await startTemporalDevServer({
    dbFile,
    port: Number(portText ?? 7233),
    uiPort: config.temporal.uiPort,
    namespace: config.temporal.namespace,
    logDir: join(config.home, 'logs'),
    extraArgs: codec ? ['--ui-codec-endpoint', codec.url] : [],
  });
  log(`[scanflow] Temporal ${server.address} · Web UI ${server.uiUrl}/namespaces/${server.namespace}/workflows`);
  log(
    `[scanflow] knowledge base: ${config.knowledge.kind === 'local' ? config.knowledge.directory : `s3://${config.knowledge.bucket}`}`,
  );
  const stopServer = async () => {
    log('[scanflow] stopping the Temporal dev server');
    await server.process.stop();
    await codec?.close();
  };
  try {
    if (opts.noWorkers) {
      log('[scanflow] server only (--no-workers); Ctrl-C to stop');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      return;
    }
    await runWorkers({
      config,
      roles: parseRoles(process.env.SCANFLOW_WORKER_ROLES),
      logLevel: 'WARN',
      onReady: (queues) => log(`[scanflow] workers polling ${queues.join(', ')}; Ctrl-C to stop`),
    });
  } finally {
    await stopServer();
  }
}
