/**
 * The Scanflow worker: serves the task queues named in SCANFLOW_WORKER_ROLES (default all:
 * scanflow-agents, scanflow-ml, scanflow-kubernetes, scanflow-system) against the Temporal
 * server at TEMPORAL_ADDRESS. Stops gracefully on SIGINT/SIGTERM.
 *   npx tsx workers/main.ts
 */
import { loadConfig } from '../src/config.js';
import { runWorkers } from './run.js';
import { parseRoles } from './parse-roles.js';

async function run(): Promise<void> {
  const config = loadConfig();
  const roles = parseRoles(process.env.SCANFLOW_WORKER_ROLES);
  await runWorkers({
    config,
    roles,
    logLevel: (process.env.SCANFLOW_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO',
    onReady: (queues) =>
      console.log(JSON.stringify({ msg: 'scanflow worker ready', address: config.temporal.address, queues })),
  });
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
