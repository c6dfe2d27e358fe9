/**
 * Fig. 11, fail-over: the online service under normal load, then LoadGen users overloading it
 * until its readiness probe really fails (the server too busy to answer /v2/health/ready within
 * the probe's 1 s timeout, three times: ready replicas 0), then normal load again. The failover
 * agent (agents.ts) reads the ready replicas from the API server; when 0 ready has held for
 * `holdSeconds` it moves all traffic to the user's backup (updateWorkflowTraffic), and back once
 * the primary has been ready for `recoverSeconds`.
 *
 * Measured: queries answered per second by each service (from the answers' model version),
 * failed queries per second, the primary's ready replicas and the entry Service's target over
 * time; readiness lost → redirect (detection-to-redirect), failures in that window and after.
 *
 * The primary is small on purpose (a quarter of a CPU, as a cheaply provisioned service) and the
 * backup a whole CPU on the other node, so the overload that takes the primary down is served by
 * the backup.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultMlperfAgentOptions, failoverAgent } from '../agents.js';
import { BACKUP_SERVICE, MLPERF_APP, MLPERF_MODEL, MODEL_SERVER_SERVICE, ONLINE_REF } from '../names.js';
import { componentLabels } from '../../../platform/names.js';
import { RunningAgent, uiBaseOf, type AgentRecord } from './agent-run.js';
import { servicePods } from './cluster-ops.js';
import type { ExperimentEnvironment } from './environment.js';
import { perSecond, runServerLoad, type LoadStep } from './load.js';
import { activeService, deployOnline, loadAverage, removeOnline, SERVICE_OF_VERSION } from './online.js';

export interface FailoverOptions {
  users: number;
  /** Queries/s before and after the overload. */
  normalQps: number;
  overloadQps: number;
  normalSeconds: number;
  /** The overload's longest length; it ends afterRedirectSeconds after the redirect. */
  overloadSeconds: number;
  afterRedirectSeconds: number;
  recoverySeconds: number;
  holdSeconds: number;
  recoverSeconds: number;
  /** CPU of the primary (request = limit) and of the backup. */
  primaryCpu: string;
  backupCpu: string;
  log: (line: string) => void;
}

export const defaultFailoverOptions: Omit<FailoverOptions, 'log'> = {
  users: 200,
  normalQps: 20,
  overloadQps: 400,
  normalSeconds: 20,
  overloadSeconds: 150,
  afterRedirectSeconds: 10,
  recoverySeconds: 60,
  // Kubernetes takes a NotReady pod out of the Service, which relieves it: it is Ready again one
  // probe period (5 s) later and overloaded again, so 0 ready lasts ~5 s at a time. The hold is
  // shorter than that, and still three readings of the agent (every second), not one.
  holdSeconds: 3,
  recoverSeconds: 20,
  // A tenth of a CPU: with 200 requests in flight its event loop answers the probe after > 1 s.
  primaryCpu: '100m',
  backupCpu: '1',
};

export interface FailoverSample {
  t: number;
  primaryReady: number;
  active: string;
}

export interface FailoverResult {
  options: Omit<FailoverOptions, 'log'>;
  loadAverage: { before: string; after: string };
  perSecond: Array<{ t: number; failed: number } & Record<string, number>>;
  samples: FailoverSample[];
  steps: Array<{ qps: number; seconds: number; from: number }>;
  /** Seconds since the load started (null: did not happen). */
  overloadAt: number;
  readinessLostAt: number | null;
  redirectedAt: number | null;
  returnedAt: number | null;
  /** redirectedAt − readinessLostAt. */
  detectionToRedirect: number | null;
  failed: { total: number; beforeLoss: number; lossToRedirect: number; afterRedirect: number };
  answered: Record<string, number>;
  agent: AgentRecord;
  /** The agent's acted decisions: when and why it moved traffic. */
  actions: Array<{ at: string; route: string; reason: string }>;
}

export async function runFailoverExperiment(env: ExperimentEnvironment, o: FailoverOptions): Promise<FailoverResult> {
  const { log, ...options } = o;
  const ref = { ...ONLINE_REF };
  const url = await deployOnline(env, {
    replicas: 1,
    resources: { requests: { cpu: o.primaryCpu, memory: '512Mi' }, limits: { cpu: o.primaryCpu, memory: '1Gi' } },
    backup: {
      replicas: 1,
      // A small request (a rolling update's second pod must fit on the node too), the node's CPU as its limit.
      resources: { requests: { cpu: '300m', memory: '512Mi' }, limits: { cpu: o.backupCpu, memory: '1Gi' } },
      // The backup on the other node: a fault of the primary's node does not take it too.
      affinity: { antiAffinity: [{ matchLabels: componentLabels(ref, MODEL_SERVER_SERVICE), mode: 'required' }] },
    },
  });
  log(`fail-over: online workflow up (primary ${o.primaryCpu} CPU, backup ${o.backupCpu} CPU) at ${url}`);

  const agent = await RunningAgent.start(
    env.client,
    failoverAgent({
      ...defaultMlperfAgentOptions,
      app: MLPERF_APP,
      online: ref,
      failover: {
        holdSeconds: o.holdSeconds,
        recoverSeconds: o.recoverSeconds,
        minReadyToReturn: 1,
        interval: '1s',
      },
    }),
    uiBaseOf(env.temporal),
  );
  log(`fail-over: agent ${agent.id} (hold ${o.holdSeconds} s at 0 ready, return after ${o.recoverSeconds} s ready)`);

  const before = await loadAverage();
  const samples: FailoverSample[] = [];
  let onRedirect!: () => void;
  const redirect = new Promise<void>((r) => (onRedirect = r));
  const t0 = Date.now();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      try {
        const [{ ready }, active] = await Promise.all([
          servicePods(env.core, env.namespace, ref, MODEL_SERVER_SERVICE),
          activeService(env),
        ]);
        samples.push({ t: (Date.now() - t0) / 1000, primaryReady: ready, active });
        if (active === BACKUP_SERVICE) onRedirect();
      } catch {
        // a slow API server read: the next sample comes a second later
      }
      await sleep(1000);
    }
  })();
  // The overload ends `afterRedirectSeconds` after the traffic moved (or after overloadSeconds at
  // most): long enough to show the backup serving it, short of the agent's return.
  const overloadOver = redirect.then(() => sleep(o.afterRedirectSeconds * 1000));
  const steps: LoadStep[] = [
    { qps: o.normalQps, seconds: o.normalSeconds },
    { qps: o.overloadQps, seconds: o.overloadSeconds, until: overloadOver },
    { qps: o.normalQps, seconds: o.recoverySeconds },
  ];
  let lastLine = 0;
  const run = await runServerLoad({
    url,
    model: MLPERF_MODEL,
    users: o.users,
    steps,
    services: SERVICE_OF_VERSION,
    timeoutMs: 5_000,
    onSecond: (r) => {
      const t = (Date.now() - r.startedAt) / 1000;
      if (t - lastLine < 10) return;
      lastLine = t;
      const recent = r.records.filter((x) => x.at > t - 10);
      const by = (s?: string) => recent.filter((x) => x.service === s).length / 10;
      const s = samples.at(-1);
      log(
        `fail-over t=${t.toFixed(0)} s: ${by(MODEL_SERVER_SERVICE).toFixed(0)} q/s by ${MODEL_SERVER_SERVICE}, ${by(BACKUP_SERVICE).toFixed(0)} by ${BACKUP_SERVICE}, ${(recent.filter((x) => !x.service).length / 10).toFixed(0)} failed/s; primary ready ${s?.primaryReady ?? '?'}, traffic → ${s?.active ?? '?'}`,
      );
    },
  });
  // Samples are on the load's clock (both started within a second; the load's t0 is the reference).
  const shift = (t0 - run.startedAt) / 1000;
  watching = false;
  await watcher;
  for (const s of samples) s.t = Math.round((s.t + shift) * 10) / 10;
  const after = await loadAverage();
  const record = await agent.stop('fail-over experiment finished');
  await removeOnline(env);

  const overloadAt = run.steps[1]?.from ?? o.normalSeconds;
  const lost = samples.find((s) => s.t >= overloadAt && s.primaryReady === 0)?.t ?? null;
  const redirected = samples.find((s) => lost !== null && s.t >= lost && s.active === BACKUP_SERVICE)?.t ?? null;
  const returned =
    samples.find((s) => redirected !== null && s.t > redirected && s.active === MODEL_SERVER_SERVICE)?.t ?? null;
  const failedIn = (a: number, b: number) => run.records.filter((r) => !r.service && r.at >= a && r.at < b).length;
  const rows = perSecond(run, [MODEL_SERVER_SERVICE, BACKUP_SERVICE]);
  const answered = Object.fromEntries(
    [MODEL_SERVER_SERVICE, BACKUP_SERVICE].map((s) => [s, run.records.filter((r) => r.service === s).length]),
  );
  return {
    options,
    loadAverage: { before, after },
    perSecond: rows,
    samples,
    steps: run.steps,
    overloadAt,
    readinessLostAt: lost,
    redirectedAt: redirected,
    returnedAt: returned,
    detectionToRedirect: lost !== null && redirected !== null ? Math.round((redirected - lost) * 10) / 10 : null,
    failed: {
      total: run.records.filter((r) => !r.service).length,
      beforeLoss: failedIn(0, lost ?? Infinity),
      lossToRedirect: lost !== null ? failedIn(lost, redirected ?? Infinity) : 0,
      afterRedirect: redirected !== null ? failedIn(redirected, Infinity) : 0,
    },
    answered,
    agent: record,
    actions: record.decisions
      .filter((d) => d.outcome === 'acted')
      .map((d) => {
        const f = d.observed.failover as { route?: string; reason?: string } | undefined;
        return { at: d.at, route: f?.route ?? '', reason: f?.reason ?? '' };
      }),
  };
}
