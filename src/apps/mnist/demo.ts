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
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import { loadConfig, type ScanflowConfig } from '../../config.js';
import { LocalDirectoryStore } from '../../knowledge/local-store.js';
import type { KnowledgeStore } from '../../knowledge/types.js';
import { startTemporalDevServer, type RunningTemporal } from '../../stack/temporal-server.js';
import type { RunningWorkers, startWorkers } from '../../../workers/run.js';
import { MnistCaseStudy } from './case-study.js';
import type { MnistBootstrapResult } from './workflows/bootstrap.js';
import type { DemoOptions } from './demo-options.js';
import { CLASSIFIER_MODEL, DETECTOR_MODEL, HELD_OUT_KEY, MNIST_APP } from './names.js';
import { writeReport, type DemoRun } from './report.js';

const log = (line: string): void => console.log(line);

/** Bumped whenever the stored model or detector format changes, so a stale cache is not reused. */
export const CACHE_FORMAT = 5; // 4: detector with cross-fitted feature scores; 5: V1 trained with the batch-32 warm-up epoch

export function portInUse(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

/** What a bootstrap produces and later runs reuse: both registries with their artifacts, the held-out set. */
const CACHED_PREFIXES = [`models/${CLASSIFIER_MODEL}/`, `models/${DETECTOR_MODEL}/`, 'eval/'];

export async function copyPrefixes(from: KnowledgeStore, to: KnowledgeStore): Promise<number> {
  let copied = 0;
  for (const prefix of CACHED_PREFIXES) {
    for (const key of await from.list(prefix)) {
      await to.putBytes(key, await from.getBytes(key));
      copied += 1;
    }
  }
  return copied;
}

export async function cacheIsComplete(cache: KnowledgeStore): Promise<boolean> {
  for (const key of [
    `models/${CLASSIFIER_MODEL}/registry.json`,
    `models/${DETECTOR_MODEL}/registry.json`,
    HELD_OUT_KEY,
  ]) {
    if (!(await cache.exists(key))) return false;
  }
  return true;
}

/**
 * The case study's bootstrap (held-out set, V1, detector), from `<home>/cache` when a complete
 * copy of this format is there (unless `fresh`), else trained and then cached for later runs.
 * Both platforms' demos start this way.
 */
export async function bootstrapWithCache(
  study: MnistCaseStudy,
  store: KnowledgeStore,
  home: string,
  fresh: boolean,
  log: (line: string) => void,
): Promise<MnistBootstrapResult> {
  const cache = new LocalDirectoryStore(join(home, 'cache', `knowledge-${CACHE_FORMAT}`));
  const cached = !fresh && (await cacheIsComplete(cache));
  if (cached) await copyPrefixes(cache, store);
  log(
    cached
      ? '[demo] baseline V1 and detector from the cache (.scanflow/cache; --fresh retrains them)'
      : '[demo] training baseline V1 on 60,000 MNIST images and the drift detector (once; cached afterwards)',
  );
  const t0 = Date.now();
  const bootstrap = await study.bootstrap();
  if (!cached) await copyPrefixes(store, cache);
  log(
    `[demo] V${bootstrap.classifier.version}: ${(100 * (bootstrap.classifier.accuracy ?? NaN)).toFixed(2)}% on MNIST test, ${(100 * (bootstrap.classifier.heldOutAccuracy ?? NaN)).toFixed(2)}% on the held-out drifted set (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
  );
  return bootstrap;
}

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
    await study.startAgents();
    log(`[demo] agents running: ${study.agentIds().join(', ')}; interval ${options.agents.interval}`);

    log(
      '[demo] per interval: traffic and accuracy | what the checker found | labels spent | registry (accuracy on the held-out drifted set)',
    );
    for (let i = 0; i < options.intervals; i++) await study.runInterval(i);
    await study.stopAgents('demo finished');

    const run: DemoRun = {
      runId,
      runDir,
      options,
      bootstrap,
      rows: study.rows,
      decisions: Object.fromEntries(study.decisions),
      versions: await study.versions(),
      budget: await study.budget(),
      uiBase: `${server.uiUrl}/namespaces/${config.temporal.namespace}/workflows`,
    };
    log(`[demo] report: ${await writeReport(run)}`);
    for (const id of study.agentIds()) log(`[demo]   ${id}: ${run.uiBase}/${encodeURIComponent(id)}`);
    log("[demo] 'npm run dev' serves the Temporal UI again with this run's full history.");
    return run;
  } finally {
    await workers?.shutdown();
    await server?.process.stop();
  }
}
