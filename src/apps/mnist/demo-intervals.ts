/**
 * What the MNIST demo does the same on either platform (demo.ts, demo-kubernetes.ts) once the
 * model server is up: the four agents started, the drifting stream replayed one batch per
 * interval, the agents stopped; then the run's record the report is written from.
 */
import type { MnistCaseStudy } from './case-study.js';
import type { DemoOptions } from './demo-options.js';
import type { DemoRun } from './report.js';

export async function runAgentIntervals(
  study: MnistCaseStudy,
  options: DemoOptions,
  log: (line: string) => void,
): Promise<void> {
  await study.startAgents();
  log(`[demo] agents running: ${study.agentIds().join(', ')}; interval ${options.agents.interval}`);
  log(
    '[demo] per interval: traffic and accuracy | what the checker found | labels spent | registry (accuracy on the held-out drifted set)',
  );
  for (let i = 0; i < options.intervals; i++) await study.runInterval(i);
  await study.stopAgents('demo finished');
}

/** The run's record: what the caller knows (ids, options, bootstrap, UI) and what the study saw. */
export async function demoRunRecord(
  study: MnistCaseStudy,
  run: Pick<DemoRun, 'runId' | 'runDir' | 'options' | 'bootstrap' | 'uiBase'>,
): Promise<DemoRun> {
  return {
    runId: run.runId,
    runDir: run.runDir,
    options: run.options,
    bootstrap: run.bootstrap,
    rows: study.rows,
    decisions: Object.fromEntries(study.decisions),
    versions: await study.versions(),
    budget: await study.budget(),
    uiBase: run.uiBase,
  };
}
