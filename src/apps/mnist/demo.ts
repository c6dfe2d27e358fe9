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
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { loadConfig, type ScanflowConfig } from '../../config.js';
import { AgentClient } from '../../client/agents.js';
import { ModelRegistry } from '../../knowledge/model-registry.js';
import { LocalDirectoryStore } from '../../knowledge/local-store.js';
import type { KnowledgeStore } from '../../knowledge/types.js';
import { recordTruth, setBudget, getBudget } from '../../activities/ml/label-oracle.js';
import { resolveDataset } from '../../activities/ml/datasets.js';
import { predict } from '../../ml/classifier.js';
import { DriftStream } from '../../ml/drift-stream.js';
import { MODEL_ADMIN_ANNOTATION, MODEL_SERVER_IMAGE } from '../../platform/local/local-platform.js';
import type { OnlineWorkflowSpec } from '../../platform/types.js';
import { storeArgument } from '../../serving/store-config.js';
import { TaskQueues } from '../../spec/task-queues.js';
import { agentWorkflowId } from '../../spec/ids.js';
import { startTemporalDevServer, type RunningTemporal } from '../../stack/temporal-server.js';
import { runTraffic } from '../../traffic/traffic-client.js';
import { startWorkers, type RunningWorkers } from '../../worker/run-workers.js';
import type { MnistBootstrapResult } from '../../workflows/mnist-bootstrap.js';
import type { Decision } from '../../workflows/agent-messages.js';
import { mnistAgents } from './agents.js';
import { scheduleCorruptions, scheduleMaxShare, type DemoOptions } from './demo-options.js';
import { CLASSIFIER_MODEL, DETECTOR_MODEL, HELD_OUT_KEY, MNIST_APP, SERVING_REF, SERVING_SERVICE, trafficBatchKey } from './names.js';
import { writeReport, type IntervalRow, type DemoRun } from './report.js';

const log = (line: string): void => console.log(line);

function portInUse(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host, port: Number(port) });
    socket.once('connect', () => { socket.destroy(); resolvePromise(true); });
    socket.once('error', () => resolvePromise(false));
  });
}

/** Copies the cached baseline models (and held-out set) into this run's store, if any. */
function seedFromCache(cacheDir: string, runStoreDir: string): boolean {
  const registry = join(cacheDir, 'models', CLASSIFIER_MODEL, 'registry.json');
  if (!existsSync(registry) || !existsSync(join(cacheDir, 'models', DETECTOR_MODEL, 'registry.json'))) return false;
  for (const part of [join('models', CLASSIFIER_MODEL), join('models', DETECTOR_MODEL), 'eval']) {
    if (existsSync(join(cacheDir, part))) cpSync(join(cacheDir, part), join(runStoreDir, part), { recursive: true });
  }
  return true;
}

function saveToCache(runStoreDir: string, cacheDir: string): void {
  for (const part of [join('models', CLASSIFIER_MODEL), join('models', DETECTOR_MODEL), 'eval']) {
    cpSync(join(runStoreDir, part), join(cacheDir, part), { recursive: true });
  }
}

function modelServerSpec(store: KnowledgeStore & { root: string }): OnlineWorkflowSpec {
  const { arg, env } = storeArgument({ kind: 'local', directory: store.root });
  return {
    ...SERVING_REF,
    services: [
      {
        name: SERVING_SERVICE,
        image: MODEL_SERVER_IMAGE,
        port: 8080,
        replicas: 1,
        args: ['--store', arg, '--model', CLASSIFIER_MODEL, '--port', '$(PORT)', '--log-flush-ms', '500', '--log-batch', '200'],
        env: { ...env, SCANFLOW_MODEL_VERSION: '1' },
        readinessPath: '/v2/health/ready',
        annotations: { [MODEL_ADMIN_ANNOTATION]: '/admin/model' },
      },
    ],
  };
}

async function startAgents(client: Client, options: DemoOptions): Promise<AgentClient> {
  const agents = new AgentClient(client);
  for (const spec of mnistAgents(options.agents)) {
    const id = agentWorkflowId(spec.app, spec.name);
    // An agent left running by an interrupted earlier demo: stop it (removing its schedules) first.
    const previous = agents.get(spec.app, spec.name);
    const running = await previous.workflow.describe().then((d) => d.status.name === 'RUNNING', () => false);
    if (running) {
      log(`[demo] stopping ${id} left over from an earlier run`);
      await previous.stop('superseded by a new demo run').catch(() => previous.workflow.terminate('superseded by a new demo run'));
    }
    await agents.start({ ...spec, decisionLogSize: 200 });
  }
  return agents;
}

async function collectDecisions(agents: AgentClient, seen: Map<string, Decision[]>): Promise<void> {
  for (const name of ['tracker', 'checker', 'planner', 'executor']) {
    const known = seen.get(name) ?? [];
    const last = known.at(-1)?.seq ?? -1;
    const fresh = (await agents.get(MNIST_APP, name).decisions(200)).filter((d) => d.seq > last);
    seen.set(name, [...known, ...fresh]);
  }
}

export async function runDemo(options: DemoOptions): Promise<DemoRun> {
  const base = loadConfig();
  const runId = new Date().toISOString().replace(/[:.]/g, '-');
  const runDir = resolve(options.runDir ?? join(base.home, 'demo', runId));
  const storeDir = join(runDir, 'knowledge');
  const cacheDir = join(base.home, 'cache', 'knowledge');
  mkdirSync(storeDir, { recursive: true });
  const config: ScanflowConfig = { ...base, knowledge: { kind: 'local', directory: storeDir }, platform: { kind: 'local', workDir: join(runDir, 'platform') } };
  const store = new LocalDirectoryStore(storeDir);
  log(`[demo] run directory ${runDir}`);

  let server: RunningTemporal | undefined;
  let workers: RunningWorkers | undefined;
  try {
    if (await portInUse(config.temporal.address)) {
      throw new Error(`something already listens on ${config.temporal.address}: stop 'npm run dev' (the demo starts its own stack on the same database) or set TEMPORAL_ADDRESS to a free port`);
    }
    const [, port] = config.temporal.address.split(':');
    server = await startTemporalDevServer({ dbFile: join(base.home, 'temporal.db'), port: Number(port), uiPort: config.temporal.uiPort, namespace: config.temporal.namespace, logDir: join(base.home, 'logs') });
    log(`[demo] Temporal ${server.address}, Web UI ${server.uiUrl}`);
    workers = await startWorkers({ config, roles: ['agents', 'ml', 'kubernetes', 'system'], logLevel: 'WARN' });
    const { client } = workers;

    const cached = !options.fresh && seedFromCache(cacheDir, storeDir);
    log(cached ? '[demo] baseline V1 and detector from the cache (.scanflow/cache; --fresh retrains them)' : '[demo] training baseline V1 on 60,000 MNIST images and the drift detector (once; cached afterwards)');
    const t0 = Date.now();
    const bootstrap = await client.workflow.execute<(input: unknown) => Promise<MnistBootstrapResult>>('mnistBootstrapWorkflow', {
      taskQueue: TaskQueues.ml,
      workflowId: `scanflow.mnist.bootstrap.${runId}`,
      args: [{ seed: options.seed, classifierEpochs: options.classifierEpochs, detectorEpochs: options.detectorEpochs, heldOut: { count: 2000, share: scheduleMaxShare(options.schedule), corruptions: scheduleCorruptions(options.schedule) } }],
    });
    if (!cached) saveToCache(storeDir, cacheDir);
    log(`[demo] V${bootstrap.classifier.version}: ${(100 * (bootstrap.classifier.accuracy ?? NaN)).toFixed(2)}% on MNIST test, ${(100 * (bootstrap.classifier.heldOutAccuracy ?? NaN)).toFixed(2)}% on the held-out drifted set (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    await setBudget(store, options.labelBudget);

    await client.workflow.execute('platformOperationWorkflow', {
      taskQueue: TaskQueues.agents,
      workflowId: `scanflow.mnist.deploy.${runId}`,
      args: [{ primitive: 'deployWorkflow', args: modelServerSpec(store) }],
    });
    const endpoint = workers.resources.localPlatform!.endpoint(SERVING_REF);
    log(`[demo] model server deployed (online workflow mnist/serving) at ${endpoint}`);

    const agents = await startAgents(client, options);
    log(`[demo] agents running: ${mnistAgents(options.agents).map((a) => agentWorkflowId(a.app, a.name)).join(', ')}; interval ${options.agents.interval}`);

    const traffic = await resolveDataset(store, 'case-study:traffic');
    const stream = new DriftStream({ seed: options.seed, batchSize: options.predictionsPerInterval, schedule: options.schedule, source: traffic }, 0);
    const v1 = await new ModelRegistry(store, CLASSIFIER_MODEL).loadModel(1);
    const decisions = new Map<string, Decision[]>();
    const rows: IntervalRow[] = [];
    log('[demo] interval | drift | served acc (versions) | static V1 acc | labels used | registry');
    for (let i = 0; i < options.intervals; i++) {
      const started = Date.now();
      const batch = stream.batch(i);
      const ids = batch.images.ids ?? [];
      const truth = stream.oracle.truthFor(ids);
      await recordTruth(store, trafficBatchKey(options.seed, i), ids, truth);
      const truthById = new Map(ids.map((id, k) => [id, truth[k]!]));
      let correct = 0;
      let answered = 0;
      let sent = false;
      const report = await runTraffic({
        url: endpoint,
        model: CLASSIFIER_MODEL,
        source: { next: () => (sent ? undefined : ((sent = true), batch.images)) },
        imagesPerRequest: options.imagesPerRequest,
        maxRequests: Math.ceil(batch.images.count / options.imagesPerRequest),
        concurrency: 4,
        ratePerSecond: options.predictionsPerInterval / options.imagesPerRequest / (options.intervalSeconds * 0.8),
        onResult: (r) => {
          if (!r.ok || !r.labels || !r.sampleIds) return;
          r.sampleIds.forEach((id, k) => {
            answered += 1;
            if (r.labels?.[k] === truthById.get(id)) correct += 1;
          });
        },
      });
      const staticPred = predict(v1, batch.images).predicted;
      const staticCorrect = staticPred.reduce((n, p, k) => n + (p === truth[k] ? 1 : 0), 0);
      const wait = options.intervalSeconds * 1000 - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await collectDecisions(agents, decisions);
      const versions = await new ModelRegistry(store, CLASSIFIER_MODEL).list();
      const budget = await getBudget(store);
      const row: IntervalRow = {
        interval: i + 1,
        share: stream.phaseOf(i).share,
        sent: report.images,
        failed: report.failed,
        servedAccuracy: answered ? correct / answered : NaN,
        servedVersions: report.versions,
        staticAccuracy: staticCorrect / batch.images.count,
        labelsUsed: budget.used,
        production: versions.find((v) => v.stage === 'production')?.version ?? null,
        latencyP99Ms: report.latencyMs.p99,
      };
      rows.push(row);
      log(`[demo] ${String(row.interval).padStart(3)}/${options.intervals} | ${(100 * row.share).toFixed(0).padStart(3)}% | ${(100 * row.servedAccuracy).toFixed(1)}% (${Object.entries(row.servedVersions).map(([v, n]) => `v${v}:${n}`).join(' ')}) | ${(100 * row.staticAccuracy).toFixed(1)}% | ${budget.used}/${budget.budget} | ${versions.map((v) => `v${v.version}:${v.stage[0]}`).join(' ')}`);
    }
    await collectDecisions(agents, decisions);
    for (const name of ['tracker', 'checker', 'planner', 'executor']) await agents.get(MNIST_APP, name).stop('demo finished');
    const run: DemoRun = {
      runId,
      runDir,
      options,
      bootstrap,
      rows,
      decisions: Object.fromEntries(decisions),
      versions: await new ModelRegistry(store, CLASSIFIER_MODEL).list(),
      budget: await getBudget(store),
      uiBase: `${server.uiUrl}/namespaces/${config.temporal.namespace}/workflows`,
      heldOutKey: HELD_OUT_KEY,
    };
    const reportPath = writeReport(run);
    log(`[demo] report: ${reportPath}`);
    for (const name of ['tracker', 'checker', 'planner', 'executor']) log(`[demo]   ${name}: ${run.uiBase}/${encodeURIComponent(agentWorkflowId(MNIST_APP, name))}`);
    log("[demo] 'npm run dev' serves the Temporal UI again with this run's full history.");
    return run;
  } finally {
    await workers?.shutdown();
    await server?.process.stop();
  }
}

