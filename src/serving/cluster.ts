/**
 * Several model-server processes sharing one port (node:cluster), so JSON parsing, HTTP and gRPC
 * of one process overlap with the model call of another and both cores are used. Each worker is
 * a whole ModelServer (its own model copy, batcher and prediction-log writer); the primary only
 * coordinates:
 * - the hot version switch: POST /admin/model on any worker asks the primary, which tells every
 *   worker to load and swap; the answer comes once all have switched (each keeps answering with
 *   its old version until then, so no request fails). A worker that fails to load keeps its old
 *   version and the answer names it.
 * - /metrics: the sum of every worker's registry (prom-client's AggregatorRegistry; the version
 *   gauges take the max), so Prometheus sees one server.
 * Started by main.ts with --workers N; the primary prints the `listening` line once all listen and
 * forwards SIGTERM/SIGINT (each worker drains, then the primary exits).
 *
 * TensorFlow's thread pools: each native TensorFlow sizes its intra-op pool to every core, so N
 * processes would run N x cores compute threads that preempt each other in the middle of a model
 * call. Each worker gets cores / N threads instead (TF_NUM_INTRAOP_THREADS, at least 1), unless
 * the environment already sets it; one thread per call is also what makes a batch-1 call fastest.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { SwitchResult } from './version-switcher.js';
import { errorCodeOf } from './error-code.js';
import { usableCpus } from './usable-cpus.js';
import type { VersionChoice } from './model-version.js';

type ToPrimary =
  | { type: 'scanflow:switch'; id: number; version: VersionChoice }
  | { type: 'scanflow:switched'; id: number; result?: SwitchResult; error?: string; code?: string }
  | { type: 'scanflow:metrics'; id: number }
  | { type: 'scanflow:listening'; info: Record<string, unknown> };
type ToWorker =
  | { type: 'scanflow:do-switch'; id: number; version: VersionChoice }
  | { type: 'scanflow:switch-result'; id: number; result?: SwitchResult; error?: string; code?: string }
  | { type: 'scanflow:metrics-result'; id: number; text?: string; contentType?: string; error?: string };

const isOurs = (m: unknown): m is { type: string; id: number } =>
  typeof m === 'object' &&
  m !== null &&
  typeof (m as { type?: unknown }).type === 'string' &&
  (m as { type: string }).type.startsWith('scanflow:');

/** A worker's refusal of a switch: its message and, when the error had one, its string code. */
interface RefusedSwitch {
  error: string;
  code: string | undefined;
}

const errorCode = (err: unknown): { code?: string } => {
  const code = errorCodeOf(err);
  return code === undefined ? {} : { code };
};

/** The TensorFlow thread settings of each of `count` workers (see the header); the environment's own win. */
export function tensorflowThreads(
  count: number,
  env: NodeJS.ProcessEnv = process.env,
  cores = usableCpus(),
): Record<string, string> {
  const perWorker = String(Math.max(1, Math.floor(cores / count)));
  return {
    TF_NUM_INTRAOP_THREADS: env.TF_NUM_INTRAOP_THREADS ?? perWorker,
    TF_NUM_INTEROP_THREADS: env.TF_NUM_INTEROP_THREADS ?? '1',
  };
}

/** Runs the primary: forks `count` workers of this same program and coordinates them; never returns until they exit. */
export async function runPrimary(count: number, log: (line: string) => void): Promise<void> {
  const aggregator = new AggregatorRegistry();
  const workers: Worker[] = [];
  const listening: Array<Record<string, unknown>> = [];
  let switchId = 0;
  const switches = new Map<
    number,
    { from: Worker; origin: number; pending: number; results: Array<SwitchResult | RefusedSwitch> }
  >();
  let stopping = false;

  const onMessage = (worker: Worker, message: unknown): void => {
    if (!isOurs(message)) return;
    const m = message as ToPrimary;
    if (m.type === 'scanflow:listening') {
      listening.push(m.info);
      if (listening.length === count) console.log(JSON.stringify({ ...m.info, workers: count }));
    } else if (m.type === 'scanflow:switch') {
      // Switches are serialised per worker by its VersionSwitcher; the primary fans each one out.
      switchId += 1;
      const id = switchId;
      switches.set(id, { from: worker, origin: m.id, pending: workers.length, results: [] });
      for (const w of workers) w.send({ type: 'scanflow:do-switch', id, version: m.version } satisfies ToWorker);
    } else if (m.type === 'scanflow:switched') {
      const s = switches.get(m.id);
      if (!s) return;
      s.results.push(m.result ?? { error: m.error ?? 'unknown error', code: m.code });
      s.pending -= 1;
      if (s.pending > 0) return;
      switches.delete(m.id);
      const errors = s.results.filter((r): r is RefusedSwitch => 'error' in r);
      const origin = s.origin;
      const ok = s.results.find((r): r is SwitchResult => !('error' in r));
      s.from.send(
        (errors.length > 0
          ? {
              type: 'scanflow:switch-result',
              id: origin,
              error: `${errors.length} of ${count} workers refused: ${errors[0]!.error}`,
              // The first refusal's error code crosses the IPC with its text, so the admin route
              // can tell "the store is down" (503, retry) from "bad version" (400) by code.
              ...(errors[0]!.code !== undefined ? { code: errors[0]!.code } : {}),
            }
          : { type: 'scanflow:switch-result', id: origin, result: ok }) satisfies ToWorker,
      );
    } else if (m.type === 'scanflow:metrics') {
      aggregator.clusterMetrics().then(
        (text) =>
          worker.send({
            type: 'scanflow:metrics-result',
            id: m.id,
            text,
            contentType: aggregator.contentType,
          } satisfies ToWorker),
        (err: unknown) =>
          worker.send({ type: 'scanflow:metrics-result', id: m.id, error: (err as Error).message } satisfies ToWorker),
      );
    }
  };

  for (let i = 0; i < count; i += 1) {
    const worker = cluster.fork({ SCANFLOW_SERVING_WORKER: String(i), ...tensorflowThreads(count) });
    worker.on('message', (message: unknown) => onMessage(worker, message));
    workers.push(worker);
  }
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping ${count} workers`);
    for (const w of workers) w.process.kill(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await new Promise<void>((resolve) => {
    let alive = count;
    let failed = false;
    cluster.on('exit', (worker, code, signal) => {
      alive -= 1;
      if (!stopping) {
        // A worker died on its own: stop the rest, so the platform restarts the whole server.
        failed = true;
        log(`worker ${worker.id} exited (${code ?? signal}); stopping the others`);
        stop('SIGTERM');
      }
      if (alive === 0) {
        process.exitCode = failed ? 1 : 0;
        resolve();
      }
    });
  });
}

/** In a worker: the hooks that route the switch and the metrics through the primary. */
export function workerHooks(handlers: { switchLocally: (version: VersionChoice) => Promise<SwitchResult> }): {
  switchAll: (version: VersionChoice) => Promise<SwitchResult>;
  metricsText: () => Promise<{ text: string; contentType: string }>;
  listening: (info: Record<string, unknown>) => void;
} {
  let next = 0;
  const waiting = new Map<number, (m: ToWorker) => void>();
  process.on('message', (message: unknown) => {
    if (!isOurs(message)) return;
    const m = message as ToWorker;
    if (m.type === 'scanflow:do-switch') {
      handlers.switchLocally(m.version).then(
        (result) => process.send!({ type: 'scanflow:switched', id: m.id, result } satisfies ToPrimary),
        (err: unknown) =>
          process.send!({
            type: 'scanflow:switched',
            id: m.id,
            error: (err as Error).message,
            ...errorCode(err),
          } satisfies ToPrimary),
      );
      return;
    }
    const wake = waiting.get(m.id);
    waiting.delete(m.id);
    wake?.(m);
  });
  const ask = (message: (id: number) => ToPrimary): Promise<ToWorker> => {
    next += 1;
    const id = next;
    return new Promise((resolve) => {
      waiting.set(id, resolve);
      process.send!(message(id));
    });
  };
  return {
    async switchAll(version) {
      const m = (await ask((id) => ({ type: 'scanflow:switch', id, version }))) as Extract<
        ToWorker,
        { type: 'scanflow:switch-result' }
      >;
      if (m.error !== undefined || !m.result)
        throw Object.assign(new Error(m.error ?? 'switch failed'), m.code !== undefined ? { code: m.code } : {});
      return m.result;
    },
    async metricsText() {
      const m = (await ask((id) => ({ type: 'scanflow:metrics', id }))) as Extract<
        ToWorker,
        { type: 'scanflow:metrics-result' }
      >;
      if (m.error !== undefined || m.text === undefined) throw new Error(m.error ?? 'no metrics');
      return { text: m.text, contentType: m.contentType ?? 'text/plain' };
    },
    listening(info) {
      process.send!({ type: 'scanflow:listening', info } satisfies ToPrimary);
    },
  };
}

export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

export function registerWorkerRegistry(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // prom-client installs the worker's answer to the primary's metrics requests in this constructor.
  new AggregatorRegistry();
}
