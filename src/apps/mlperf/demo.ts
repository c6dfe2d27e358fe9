/**
 * `npm run demo:mlperf` (`scanflow demo mlperf`): the infrastructure case study (paper Figs. 8–11)
 * on this machine. Starts the experiment environment (experiments/environment.ts: Temporal, two
 * real one-CPU nodes, Prometheus, the workers), runs the experiments with their baselines, prints
 * progress as they go, and writes a Markdown report with one chart per figure and the Temporal UI
 * links of the agents.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../config.js';
import type { startWorkers } from '../../../workers/run.js';
import type { ExperimentName, MlperfDemoOptions } from './demo-options.js';
import { startExperimentEnvironment, type EnvironmentOptions } from './experiments/environment.js';
import { runFailoverExperiment } from './experiments/failover.js';
import { runAffinityExperiment } from './experiments/affinity.js';
import { runAutoscalingExperiment } from './experiments/autoscaling.js';
import { experimentOptions } from './experiments/options.js';
import { resetWorkloads } from './experiments/online.js';
import { writeMlperfReport, type MlperfRun } from './report/report.js';

/** What a caller (a test on the harness's cluster) may give instead of the demo starting it. */
export type MlperfDemoEnvironment = Pick<EnvironmentOptions, 'cluster' | 'temporal' | 'namespace'>;

export async function runMlperfDemo(
  options: MlperfDemoOptions,
  start: typeof startWorkers,
  given: MlperfDemoEnvironment = {},
): Promise<MlperfRun> {
  const base = loadConfig();
  const runId = new Date().toISOString().replace(/[:.]/g, '-');
  const runDir = resolve(options.runDir ?? join(base.home, 'demo-mlperf', runId));
  mkdirSync(runDir, { recursive: true });
  const log = (line: string): void => console.log(`[mlperf] ${line}`);
  log(`run directory ${runDir}`);
  const t0 = Date.now();
  const env = await startExperimentEnvironment({ ...given, runDir, start, home: base.home, log });
  // Ctrl-C: the cluster's nodes, pods and bridges are removed before leaving.
  const interrupted = (): void => void env.stop().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  const run: MlperfRun = {
    runId,
    runDir,
    options,
    startedAt: new Date(t0).toISOString(),
    environment: {
      nodes: env.nodes,
      image: env.image.ref,
      weights: env.store.weights,
      temporalUi: env.temporal.uiUrl,
    },
  };
  const save = (name: string, value: unknown): void => {
    mkdirSync(join(runDir, 'results'), { recursive: true });
    writeFileSync(join(runDir, 'results', `${name}.json`), `${JSON.stringify(value, null, 2)}\n`);
  };
  const o = experimentOptions(options, log);
  try {
    // One experiment failing does not lose the others: its error goes into the report.
    const attempt = async (name: ExperimentName, title: string, work: () => Promise<unknown>) => {
      if (!options.only.includes(name)) return;
      log(title);
      const t = Date.now();
      try {
        const r = await work();
        save(name, r);
        log(`${name} done in ${Math.round((Date.now() - t) / 1000)} s`);
      } catch (err) {
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        run.errors = { ...run.errors, [name]: message };
        log(`${name} FAILED after ${Math.round((Date.now() - t) / 1000)} s: ${message}`);
        await resetWorkloads(env);
      }
    };
    // Fail-over and anti-affinity first: the shorter runs.
    await attempt('failover', 'Fig. 11: fail-over under overload', async () => {
      run.failover = await runFailoverExperiment(env, o.failover);
      return run.failover;
    });
    await attempt(
      'affinity',
      'Fig. 10: anti-affinity, Offline batch job co-located then separated by the agent',
      async () => {
        run.affinity = await runAffinityExperiment(env, o.affinity);
        return run.affinity;
      },
    );
    await attempt('autoscaling', 'Figs. 8-9: autoscaling, three CPU thresholds then the QoS tuner', async () => {
      run.autoscaling = await runAutoscalingExperiment(env, o.autoscaling);
      return run.autoscaling;
    });
    run.seconds = Math.round((Date.now() - t0) / 1000);
    const report = await writeMlperfReport(run);
    log(`report: ${report}`);
    for (const a of [run.autoscaling?.agent, run.affinity?.agent, run.failover?.agent])
      if (a) log(`  agent ${a.id}: ${a.link}`);
    return run;
  } finally {
    process.off('SIGINT', interrupted);
    await env.stop();
  }
}
