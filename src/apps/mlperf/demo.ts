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
import type { MlperfDemoOptions } from './demo-options.js';
import { startExperimentEnvironment } from './experiments/environment.js';
import { runFailoverExperiment, type FailoverResult } from './experiments/failover.js';
import { runAffinityExperiment, type AffinityResult } from './experiments/affinity.js';
import { runAutoscalingExperiment, type AutoscalingResult } from './experiments/autoscaling.js';
import { experimentOptions } from './experiments/options.js';
import { writeMlperfReport, type MlperfRun } from './report/report.js';

export async function runMlperfDemo(options: MlperfDemoOptions, start: typeof startWorkers): Promise<MlperfRun> {
  const base = loadConfig();
  const runId = new Date().toISOString().replace(/[:.]/g, '-');
  const runDir = resolve(options.runDir ?? join(base.home, 'demo-mlperf', runId));
  mkdirSync(runDir, { recursive: true });
  const log = (line: string): void => console.log(`[mlperf] ${line}`);
  log(`run directory ${runDir}`);
  const t0 = Date.now();
  const env = await startExperimentEnvironment({ runDir, start, home: base.home, log });
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
    if (options.only.includes('autoscaling')) {
      log('Figs. 8-9: autoscaling, three CPU thresholds then the QoS tuner');
      const r: AutoscalingResult = await runAutoscalingExperiment(env, o.autoscaling);
      save('autoscaling', r);
      run.autoscaling = r;
    }
    if (options.only.includes('affinity')) {
      log('Fig. 10: anti-affinity, Offline batch job co-located then separated by the agent');
      const r: AffinityResult = await runAffinityExperiment(env, o.affinity);
      save('affinity', r);
      run.affinity = r;
    }
    if (options.only.includes('failover')) {
      log('Fig. 11: fail-over under overload');
      const r: FailoverResult = await runFailoverExperiment(env, o.failover);
      save('failover', r);
      run.failover = r;
    }
    run.seconds = Math.round((Date.now() - t0) / 1000);
    const report = await writeMlperfReport(run);
    log(`report: ${report}`);
    for (const a of [run.autoscaling?.agent, run.affinity?.agent, run.failover?.agent])
      if (a) log(`  agent ${a.id}: ${a.link}`);
    return run;
  } finally {
    await env.stop();
  }
}
