/**
 * `npm run demo`: the paper's first case study (Table V, Figs. 6–7) on one machine.
 *
 * 1. starts the embedded stack (Temporal dev server on .scanflow/temporal.db + the workers in
 *    this process, the platform being this machine);
 * 2. bootstraps the models through a workflow (baseline V1 on MNIST, the drift detector; cached
 *    in .scanflow/cache so later runs skip the training);
 * 3. deploys the model server as an online workflow (a platform primitive, run as an activity);
 * 4. starts the four agents (tracker, checker, planner, executor) with seconds-long intervals;
 * 5. replays the drifting MNIST-C stream against the server, one batch per interval, and prints
 *    what the agents did;
 * 6. stops the agents and writes a report (Markdown + PNG charts) with the Temporal UI links.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, type ScanflowConfig } from '../../config.js';
import { LocalDirectoryStore } from '../../knowledge/local-store.js';
import { portInUse } from '../../stack/ports.js';
import { startTemporalDevServer, type RunningTemporal } from '../../stack/temporal-server.js';
import type { RunningWorkers, startWorkers } from '../../../workers/run.js';
import { MnistCaseStudy } from './case-study.js';
import type { DemoOptions } from './demo-options.js';
import { MNIST_APP } from './names.js';
import { bootstrapWithCache } from './demo-bootstrap.js';
import { demoRunRecord, runAgentIntervals } from './demo-intervals.js';
import { writeReport, type DemoRun } from './report.js';

const log = (line: string): void => console.log(line);

/**
 * Runs the demo. The workers are started by the caller's `start` (the CLI passes the worker
 * assembly of workers/run.ts): an app uses the worker wiring, it does not own it.
 */
export async function runDemo(options: DemoOptions, start: typeof startWorkers): Promise<DemoRun> {
  if (options.platform === 'kubernetes') {
    const { runKubernetesDemo } = await import('./demo-kubernetes.js');
    return runKubernetesDemo(options, start);
  }
  const base = loadConfig();
  const runId = new Date().toISOString().replace(/[:.]/g, '-');
  const runDir = resolve(options.runDir ?? join(base.home, 'demo', runId));
  const storeDir = join(runDir, 'knowledge');
  mkdirSync(storeDir, { recursive: true });
  const config: ScanflowConfig = {
    ...base,
    knowledge: { kind: 'local', directory: storeDir },
    platform: { kind: 'local', workDir: join(runDir, 'platform') },
  };
  const store = new LocalDirectoryStore(storeDir);
  log(`[demo] run directory ${runDir}`);

  let server: RunningTemporal | undefined;
  let workers: RunningWorkers | undefined;
  try {
    if (await portInUse(config.temporal.address)) {
      throw new Error(
        `something already listens on ${config.temporal.address}: stop 'npm run dev' (the demo starts its own stack on the same database) or set TEMPORAL_ADDRESS to a free port`,
      );
    }
    const [, port] = config.temporal.address.split(':');
    server = await startTemporalDevServer({
      dbFile: join(base.home, 'temporal.db'),
      port: Number(port),
      uiPort: config.temporal.uiPort,
      namespace: config.temporal.namespace,
      logDir: join(base.home, 'logs'),
    });
    log(`[demo] Temporal ${server.address}, Web UI ${server.uiUrl}`);
    workers = await start({ config, roles: ['agents', 'ml', 'kubernetes', 'system'], logLevel: 'WARN' });
    const study = new MnistCaseStudy(
      {
        client: workers.client,
        store,
        storeConfig: config.knowledge,
        localPlatform: workers.resources.localPlatform!,
        runId,
        log,
      },
      options,
    );

    const bootstrap = await bootstrapWithCache(study, store, base.home, options.fresh, log);

    const endpoint = await study.deploy();
    log(`[demo] model server deployed (online workflow ${MNIST_APP}/serving) at ${endpoint}`);
    await runAgentIntervals(study, options, log);

    const run = await demoRunRecord(study, {
      runId,
      runDir,
      options,
      bootstrap,
      uiBase: `${server.uiUrl}/namespaces/${config.temporal.namespace}/workflows`,
    });
    log(`[demo] report: ${await writeReport(run)}`);
    for (const id of study.agentIds()) log(`[demo]   ${id}: ${run.uiBase}/${encodeURIComponent(id)}`);
    log("[demo] 'npm run dev' serves the Temporal UI again with this run's full history.");
    return run;
  } finally {
    await workers?.shutdown();
    await server?.process.stop();
  }
}
