/**
 * `npm run demo:mlperf -- --quick` on the harness's real nodes (issue 12): the three experiments
 * of the infrastructure case study with their agents on the real dev server, the real HPA, a
 * Prometheus scraping the pods and cAdvisor through the API server, LoadGen load from this host.
 *
 * Asserted are the outcomes that hold by construction, never a timing or a throughput (those are
 * the report's figures, printed here with the load average):
 *   - fail-over: the primary lost readiness under the overload, the agent moved all traffic to the
 *     backup, the backup answered, and traffic came back to the primary, in that order;
 *   - anti-affinity: the baseline is co-located, the agent read the batch pod's CPU from cAdvisor,
 *     acted at most once, and if it acted the online and batch pods ran on different nodes after;
 *   - autoscaling: the three CPU thresholds and the tuner (KEDA on queries/s) each ran, KEDA's
 *     HPA carried the tuner's threshold, the tuner evaluated from Prometheus queries (queries/s per
 *     replica and the load's surge, recorded in its decisions) without a failed decision;
 *   - the report and one chart per figure (Vega-Lite spec, SVG, PNG) exist.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXPERIMENTS } from '../../src/apps/mlperf/demo-options.js';
import { runMlperfDemo } from '../../src/apps/mlperf/demo.js';
import { BACKUP_SERVICE, MODEL_SERVER_SERVICE } from '../../src/apps/mlperf/names.js';
import { startWorkers } from '../../workers/run.js';
import { installQuietRuntime, requireEnv } from '../harness/env.js';
import { loadAverage, nodesInfo } from './support.js';

describe('demo:mlperf --quick on the real nodes', () => {
  it('fails over and back, separates the batch job once, tunes KEDA from Prometheus, and writes the report', async () => {
    installQuietRuntime();
    const info = nodesInfo();
    const runDir = mkdtempSync(join(tmpdir(), 'scanflow-mlperf-demo-'));
    const run = await runMlperfDemo(
      { duration: 45, qos: 20, quick: true, rounds: 1, only: [...EXPERIMENTS], runDir },
      startWorkers,
      {
        cluster: {
          kubeconfig: requireEnv('SCANFLOW_TEST_KUBECONFIG'),
          image: info.image.ref,
          nodes: info.nodes.map((n) => n.name),
        },
        temporal: {
          address: requireEnv('SCANFLOW_TEST_TEMPORAL_ADDRESS'),
          namespace: requireEnv('SCANFLOW_TEST_NAMESPACE'),
          uiUrl: 'http://localhost:8233',
        },
        namespace: `mlperf-${Date.now().toString(36)}`,
      },
    );
    expect(run.errors).toBeUndefined();

    const f = run.failover!;
    process.stderr.write(
      `[mlperf] fail-over: 0 ready at ${f.readinessLostAt} s, backup at ${f.redirectedAt} s (detection to redirect ${f.detectionToRedirect} s), back at ${f.returnedAt} s; answered ${JSON.stringify(f.answered)}; failed ${JSON.stringify(f.failed)} (load avg ${loadAverage()})\n`,
    );
    expect(f.readinessLostAt).not.toBeNull();
    expect(f.redirectedAt!).toBeGreaterThanOrEqual(f.readinessLostAt!);
    expect(f.returnedAt!).toBeGreaterThan(f.redirectedAt!);
    expect(f.answered[BACKUP_SERVICE]).toBeGreaterThan(0);
    expect(f.actions.map((a) => a.route)).toEqual([BACKUP_SERVICE, MODEL_SERVER_SERVICE]);

    const a = run.affinity!;
    process.stderr.write(
      `[mlperf] anti-affinity: co-located p99 ${a.colocated.p99Ms} ms, ${a.colocated.completedQps} q/s, Offline ${a.colocated.offlineSamplesPerSecond}/s; separated p99 ${a.separated?.p99Ms} ms, ${a.separated?.completedQps} q/s, Offline ${a.separated?.offlineSamplesPerSecond}/s (load avg ${loadAverage()})\n`,
    );
    // The baseline is co-located by construction; whether p99 crossed the agent's bound is a
    // measurement, so: at most one action, and after it the pods are apart.
    expect(a.colocated.onlineNodes).toEqual(a.colocated.batchNodes);
    const separations = a.agent.decisions.filter((d) => d.outcome === 'acted');
    expect(separations.length).toBeLessThanOrEqual(1);
    expect(a.agent.decisions.filter((d) => d.outcome === 'failed')).toEqual([]);
    if (separations.length === 1) {
      expect(a.separated).not.toBeNull();
      expect(a.separated!.onlineNodes.some((n) => a.separated!.batchNodes.includes(n))).toBe(false);
    }
    // The agent saw the batch pod's CPU from cAdvisor (through the API server's node proxy).
    const sawCpu = a.agent.decisions.some(
      (d) => ((d.observed.interference as { busyBatchCores?: number } | undefined)?.busyBatchCores ?? 0) > 0,
    );
    expect(sawCpu).toBe(true);

    const s = run.autoscaling!;
    process.stderr.write(
      `[mlperf] autoscaling: ${s.settings.map((x) => `${x.setting}: QoS met ${(100 * x.metShare).toFixed(0)} %, ${x.replicaSeconds} replica-s`).join('; ')} (load avg ${loadAverage()})\n`,
    );
    expect(s.settings.map((x) => x.kind)).toEqual(['threshold', 'threshold', 'threshold', 'agent']);
    const evaluations = s.agent.decisions.filter((d) => d.observed.tuner !== undefined);
    expect(evaluations.length).toBeGreaterThan(0);
    expect(s.agent.decisions.filter((d) => d.outcome === 'failed')).toEqual([]);
    expect(evaluations[0]!.observed.load).toMatchObject({
      query: expect.stringContaining('scanflow_inference_requests_total{namespace='),
    });
    // The surge J: one PromQL subquery over the service's answered queries/s, with its evidence.
    expect(evaluations[0]!.observed.surge).toMatchObject({
      query: expect.stringContaining('max_over_time((sum(rate(scanflow_inference_requests_total{namespace='),
      evidenceSeconds: expect.any(Number),
    });
    // KEDA's HPA had the tuner's starting threshold (queries/s per replica) in effect.
    const tuned = s.settings.find((x) => x.kind === 'agent')!;
    expect(tuned.autoscaler).toBe('keda-qps');
    expect(tuned.thresholdTrace.some((x) => x.threshold === tuned.threshold)).toBe(true);

    const report = readFileSync(join(runDir, 'report.md'), 'utf8');
    for (const chart of ['fig8-9-autoscaling', 'fig10-anti-affinity', 'fig11-failover']) {
      for (const ext of ['vl.json', 'svg', 'png'])
        expect(existsSync(join(runDir, 'charts', `${chart}.${ext}`))).toBe(true);
      expect(report).toContain(`charts/${chart}.png`);
    }
    expect(report).toContain(f.agent.link);
  }, 1_500_000);
});
