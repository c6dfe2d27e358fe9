/**
 * One MLPerf infrastructure experiment on the real nodes, printed as figures (calibration runs and
 * re-measurement on a quiet machine). `npm run demo:mlperf` runs all three with the report.
 *
 *   npx tsx bench/mlperf.ts failover [--set key=value ...]   (keys of the experiment's options)
 *   npx tsx bench/mlperf.ts affinity | autoscaling …
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { startWorkers } from '../workers/run.js';
import { startExperimentEnvironment } from '../src/apps/mlperf/experiments/environment.js';
import { defaultFailoverOptions, runFailoverExperiment } from '../src/apps/mlperf/experiments/failover.js';

const [which = 'failover', ...rest] = process.argv.slice(2);
const overrides: Record<string, string | number> = {};
for (let i = 0; i < rest.length; i++) {
  if (rest[i] !== '--set') continue;
  const [k, v] = rest[++i]!.split('=');
  overrides[k!] = Number.isFinite(Number(v)) ? Number(v) : v!;
}
const log = (line: string): void => console.log(`[bench] ${line}`);
const runDir = mkdtempSync(join(tmpdir(), `scanflow-bench-mlperf-${which}-`));
const env = await startExperimentEnvironment({ runDir, start: startWorkers, home: loadConfig().home, log });
try {
  if (which === 'failover') {
    const r = await runFailoverExperiment(env, { ...defaultFailoverOptions, ...overrides, log });
    writeFileSync(join(runDir, 'failover.json'), JSON.stringify(r, null, 2));
    const { perSecond, samples, agent, ...summary } = r;
    console.log(JSON.stringify(summary, null, 2));
    console.log(perSecond.map((x) => `${x.t}:${x['model-server']}/${x.backup}/${x.failed}`).join(' '));
    console.log(samples.map((s) => `${s.t}:${s.primaryReady}${s.active[0]}`).join(' '));
    console.log(`decisions ${agent.decisions.length}, results in ${runDir}`);
  } else throw new Error(`unknown experiment ${which}`);
} finally {
  await env.stop();
}
process.exit(0);
