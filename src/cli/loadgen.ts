/**
 * Starting a LoadGen workflow and reading its progress from a Temporal client (the CLI, tests,
 * scripts). Live progress is the `progress` query (segments done) plus the running segment's
 * last heartbeat details (queries issued and answered, p99 so far), read with describe(): no
 * workflow event is written for it.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openQsl, openSut } from '../activities/loadgen/loadgen-activities.js';
import type { QslSpec, SutSpec } from '../activities/loadgen/types.js';
import { loadConfig } from '../config.js';
import { openKnowledgeStore } from '../knowledge/open-store.js';
import { runLoadgen } from '../loadgen/run.js';
import { LoadgenSettingsError, resolveSettings, type TestSettingsInput } from '../loadgen/settings.js';
import { computeSummary, formatSummary, type LoadgenSummary } from '../loadgen/summary.js';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import { ScanflowKind, TaskQueues } from '../agents/conventions.js';
import type { Progress } from '../loadgen/run.js';
import {
  loadgenProgressQuery,
  loadgenWorkflow,
  loadgenWorkflowId,
  type LoadgenProgress,
  type LoadgenWorkflowInput,
} from '../workflows/loadgen.js';

export interface LiveLoadgenProgress extends LoadgenProgress {
  /** The running segment's last heartbeat (absent between segments). */
  live?: Progress;
}

export async function startLoadgenWorkflow(
  client: Client,
  input: LoadgenWorkflowInput,
  options: { run: string; taskQueue?: string },
): Promise<WorkflowHandle<typeof loadgenWorkflow>> {
  return await client.workflow.start(loadgenWorkflow, {
    workflowId: loadgenWorkflowId(options.run),
    taskQueue: options.taskQueue ?? TaskQueues.agents,
    args: [input],
    typedSearchAttributes: [{ key: ScanflowKind, value: 'loadgen' }],
  });
}

export async function loadgenProgress(handle: WorkflowHandle): Promise<LiveLoadgenProgress> {
  const [progress, description] = await Promise.all([handle.query(loadgenProgressQuery), handle.describe()]);
  const pending = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'runLoadgenSegment');
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  const live = payload ? defaultPayloadConverter.fromPayload<Progress>(payload as Payload) : undefined;
  return live && live.segment === progress.currentSegment?.index ? { ...progress, live } : progress;
}

/** The Temporal Web UI page of a workflow. */
export function workflowUiLink(uiBase: string, namespace: string, workflowId: string): string {
  return `${uiBase.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

// ---------------------------------------------------------------------------------------------
// The command: npm run loadgen -- --scenario server --qps 500 --duration 60 --url http://… --model mnist-classifier
// ---------------------------------------------------------------------------------------------

const USAGE = `npm run loadgen -- [options]
  --scenario <server|offline|singlestream|multistream>   (default server)
  --qps <n>              Server: target QPS (Poisson); Offline: expected QPS (sizes the query)
  --duration <s>         min duration in seconds (LoadGen default 10)
  --latency-ms <ms>      Server target latency (default 100); --percentile <p> (default per scenario)
  --min-queries <n>  --max-queries <n>  --max-async <n>  --users <n>  --seed <n>
  --mode <performance|accuracy>
  --url <http://host:port> --model <name> [--model-version <v>]     an OIP-v2 server (the SUT by default)
  --sut <http|tfjs|fixed-delay|null>  --delay-ms <ms> --concurrency <n>   other SUTs
  --store <dir>          knowledge base (tfjs SUT, image-set QSL; where the logs go, default .scanflow/knowledge)
  --qsl <mnist-test|synthetic|<image-set key>>  --performance-sample-count <n>
  --run <name>           run name (default: scenario and time)
  --workflow             run it as the Temporal workflow scanflow.loadgen.<run> (needs npm run dev's workers)
  --json                 print the summary as JSON instead of mlperf_log_summary.txt`;

const scenarioNames: Record<string, TestSettingsInput['scenario']> = {
  server: 'Server',
  offline: 'Offline',
  singlestream: 'SingleStream',
  multistream: 'MultiStream',
};

interface NumberRule {
  /** The smallest allowed value (inclusive unless `above`). */
  min?: number;
  /** Strictly greater than `min`. */
  above?: boolean;
  /** Strictly less than this. */
  below?: number;
  integer?: boolean;
}

/** A numeric flag, checked here so the error names the flag (not the LoadGen setting behind it). */
function num(name: string, value: string | undefined, rule: NumberRule = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${JSON.stringify(value)}`);
  if (rule.integer && !Number.isSafeInteger(n))
    throw new Error(`--${name} must be a whole number, got ${JSON.stringify(value)}`);
  if (rule.min !== undefined && (rule.above ? !(n > rule.min) : !(n >= rule.min)))
    throw new Error(`--${name} must be ${rule.above ? '>' : '>='} ${rule.min}, got ${JSON.stringify(value)}`);
  if (rule.below !== undefined && !(n < rule.below))
    throw new Error(`--${name} must be < ${rule.below}, got ${JSON.stringify(value)}`);
  return n;
}

const positive: NumberRule = { min: 0, above: true };
const count: NumberRule = { min: 0, integer: true };

/** The flag behind each LoadGen setting, so a setting's error names what the user typed. */
const settingFlags: Record<string, string> = {
  targetQps: '--qps',
  expectedQps: '--qps',
  minDurationMs: '--duration',
  targetLatencyNs: '--latency-ms',
  targetLatencyPercentile: '--percentile',
  minQueryCount: '--min-queries',
  maxQueryCount: '--max-queries',
  maxAsyncQueries: '--max-async',
  users: '--users',
  performanceSampleCount: '--performance-sample-count',
  scheduleRngSeed: '--seed',
  sampleIndexRngSeed: '--seed',
  qslRngSeed: '--seed',
};

export interface LoadgenCommand {
  run: string;
  input: LoadgenWorkflowInput;
  store: string;
  workflow: boolean;
  json: boolean;
}

/** Parses the command line into the workflow's input (the same input runs locally or as a workflow). */
export function parseLoadgenArgs(argv: string[]): LoadgenCommand {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string', default: 'server' },
      qps: { type: 'string' },
      duration: { type: 'string' },
      'latency-ms': { type: 'string' },
      percentile: { type: 'string' },
      'min-queries': { type: 'string' },
      'max-queries': { type: 'string' },
      'max-async': { type: 'string' },
      users: { type: 'string' },
      seed: { type: 'string' },
      mode: { type: 'string', default: 'performance' },
      url: { type: 'string' },
      model: { type: 'string' },
      'model-version': { type: 'string' },
      sut: { type: 'string' },
      'delay-ms': { type: 'string' },
      concurrency: { type: 'string' },
      store: { type: 'string', default: process.env.SCANFLOW_STORE ?? '.scanflow/knowledge' },
      qsl: { type: 'string' },
      'performance-sample-count': { type: 'string' },
      'segment-seconds': { type: 'string' },
      run: { type: 'string' },
      workflow: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) throw new UsageError(USAGE);
  const scenario = scenarioNames[values.scenario.toLowerCase()];
  if (!scenario)
    throw new Error(`--scenario must be server, offline, singlestream or multistream, got ${values.scenario}`);
  const mode =
    values.mode === 'accuracy' ? 'AccuracyOnly' : values.mode === 'performance' ? 'PerformanceOnly' : undefined;
  if (!mode) throw new Error(`--mode must be performance or accuracy, got ${values.mode}`);
  const qps = num('qps', values.qps, positive);
  const seed = num('seed', values.seed, { ...count, below: 2 ** 32 }); // std::mt19937 takes 32 bits
  const latencyMs = num('latency-ms', values['latency-ms'], positive);
  const duration = num('duration', values.duration, positive);
  const settings: TestSettingsInput = {
    scenario,
    mode,
    targetQps: scenario === 'Server' ? qps : undefined,
    expectedQps: scenario === 'Offline' ? qps : undefined,
    minDurationMs: duration === undefined ? undefined : Math.round(duration * 1000),
    targetLatencyNs: latencyMs === undefined ? undefined : Math.round(latencyMs * 1e6),
    targetLatencyPercentile: num('percentile', values.percentile, { ...positive, below: 1 }),
    minQueryCount: num('min-queries', values['min-queries'], { min: 1, integer: true }),
    maxQueryCount: num('max-queries', values['max-queries'], count),
    maxAsyncQueries: num('max-async', values['max-async'], count),
    users: num('users', values.users, { min: 1, integer: true }),
    scheduleRngSeed: seed,
    sampleIndexRngSeed: seed,
    qslRngSeed: seed,
    performanceSampleCount: num('performance-sample-count', values['performance-sample-count'], count),
  };
  try {
    resolveSettings(settings);
  } catch (err) {
    const field = err instanceof LoadgenSettingsError ? err.field : '';
    const flag = settingFlags[field];
    throw flag ? new Error(`${flag}: ${(err as Error).message}`) : err;
  }
  const sutKind = values.sut ?? (values.url ? 'http' : undefined);
  let sut: SutSpec;
  switch (sutKind) {
    case 'http':
      if (!values.url || !values.model) throw new Error('--url and --model are required for an http SUT');
      if (!/^https?:\/\/[^/]/.test(values.url))
        throw new Error(
          `--url must be an http(s) URL such as http://127.0.0.1:8080, got ${JSON.stringify(values.url)}`,
        );
      sut = { kind: 'http', url: values.url, model: values.model, version: values['model-version'] };
      break;
    case 'tfjs':
      if (!values.model) throw new Error('--model is required for the tfjs SUT (a model in the --store registry)');
      sut = {
        kind: 'tfjs',
        model: values.model,
        version: num('model-version', values['model-version'], { min: 1, integer: true }),
      };
      break;
    case 'fixed-delay':
      sut = {
        kind: 'fixed-delay',
        delayMs: num('delay-ms', values['delay-ms'], { min: 0 }) ?? 5,
        concurrency: num('concurrency', values.concurrency, { min: 1, integer: true }),
      };
      break;
    case 'null':
      sut = { kind: 'null' };
      break;
    default:
      throw new Error(
        `give --url <OIP-v2 server> --model <name>, or --sut tfjs|fixed-delay|null (got ${JSON.stringify(sutKind)})`,
      );
  }
  const qsl: QslSpec | undefined =
    values.qsl === undefined
      ? undefined
      : values.qsl === 'mnist-test'
        ? { kind: 'mnist-test', performanceSampleCount: settings.performanceSampleCount || undefined }
        : values.qsl === 'synthetic'
          ? { kind: 'synthetic' }
          : {
              kind: 'image-set',
              key: values.qsl,
              performanceSampleCount: settings.performanceSampleCount || undefined,
            };
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-').toLowerCase();
  const run = values.run ?? `${scenario.toLowerCase()}-${stamp}`;
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(run))
    throw new Error(`--run must be lower-case letters, digits, '-' or '_', got ${run}`);
  return {
    run,
    input: { settings, sut, qsl, segmentSeconds: num('segment-seconds', values['segment-seconds'], positive) },
    store: values.store,
    workflow: values.workflow,
    json: values.json,
  };
}

/** --help: the usage text, printed to stdout with exit status 0. */
export class UsageError extends Error {}

function liveLine(p: Progress | undefined, elapsedS: number): string {
  if (!p) return `[${elapsedS.toFixed(0).padStart(4)}s] starting`;
  return (
    `[${elapsedS.toFixed(0).padStart(4)}s] issued ${String(p.queriesIssued).padStart(7)}  completed ${String(p.queriesCompleted).padStart(7)}` +
    `  failed ${p.samplesFailed}  p99 ${(p.p99Ns / 1e6).toFixed(2)} ms  max issue delay ${(p.maxIssueDelayNs / 1e6).toFixed(2)} ms`
  );
}

async function runLocally(cmd: LoadgenCommand): Promise<LoadgenSummary> {
  const store = openKnowledgeStore({ kind: 'local', directory: resolve(cmd.store) });
  const settings = resolveSettings(cmd.input.settings);
  const qsl = await openQsl(store, cmd.input.qsl, cmd.input.sut);
  const sut = await openSut(store, cmd.input.sut, qsl, settings);
  const started = Date.now();
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  try {
    const result = await runLoadgen({
      settings,
      sut,
      qsl,
      signal: controller.signal,
      onProgress: (p) => console.error(liveLine(p, (Date.now() - started) / 1000)),
    });
    const prefix = `loadgen/${cmd.run}`;
    const labelOf = settings.mode === 'AccuracyOnly' ? (i: number) => qsl.label?.(i) : undefined;
    const summary = computeSummary(result.log, settings, sut.name, labelOf);
    await store.putJson(`${prefix}/detail/segment-0000.json`, result.log);
    await store.putJson(`${prefix}/summary.json`, summary);
    await store.putBytes(`${prefix}/mlperf_log_summary.txt`, new TextEncoder().encode(formatSummary(summary)));
    console.error(`logs: ${store.location}/${prefix}/ (mlperf_log_summary.txt, summary.json, detail/)`);
    return summary;
  } finally {
    await sut.close?.();
  }
}

async function runAsWorkflow(cmd: LoadgenCommand): Promise<LoadgenSummary> {
  const config = loadConfig();
  const { connectClient } = await import('../temporal/connect.js');
  const { client, connection } = await connectClient(config.temporal);
  try {
    const handle = await startLoadgenWorkflow(client, cmd.input, { run: cmd.run });
    console.error(`workflow ${handle.workflowId}`);
    console.error(
      workflowUiLink(`http://localhost:${config.temporal.uiPort}`, config.temporal.namespace, handle.workflowId),
    );
    process.once('SIGINT', () => {
      console.error('cancelling the workflow …');
      void handle.cancel();
    });
    const started = Date.now();
    const timer = setInterval(() => {
      loadgenProgress(handle)
        .then((p) =>
          console.error(p.phase === 'running' ? liveLine(p.live, (Date.now() - started) / 1000) : `[${p.phase}]`),
        )
        .catch(() => undefined);
    }, 1000);
    try {
      const result = await handle.result();
      console.error(`logs: ${result.textKey}, ${result.summaryKey}, ${result.detailLogKeys.length} detail log(s)`);
      return result.summary;
    } finally {
      clearInterval(timer);
    }
  } finally {
    await connection.close();
  }
}

async function main(): Promise<void> {
  let cmd: LoadgenCommand;
  try {
    cmd = parseLoadgenArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      console.log(err.message);
      return;
    }
    console.error(`loadgen: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  const summary = cmd.workflow ? await runAsWorkflow(cmd) : await runLocally(cmd);
  console.log(cmd.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
  process.exitCode = summary.result === 'VALID' ? 0 : 3;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`loadgen: ${(err as Error).message}`);
    process.exit(1);
  });
}
