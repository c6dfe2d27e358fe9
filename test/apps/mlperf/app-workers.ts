/**
 * What the MLPerf integration suites (planners, keda-tuner) start alike: the app's real workers
 * against the harness (its Temporal, a throwaway knowledge base, the platform acting in the suite's
 * namespace of the local control plane, the sensors reading the harness's Prometheus), and the
 * wait until Prometheus scrapes the scripted replicas.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScanflowConfig } from '../../../src/config.js';
import { startWorkers, type RunningWorkers } from '../../../workers/run.js';
import { requireEnv } from '../../harness/env.js';
import { waitFor, type TestCluster } from '../../kubernetes/cluster.js';

export async function startAppWorkers(
  c: TestCluster,
  namespace: string,
  o: { prometheusUrl: string; tmpPrefix: string },
): Promise<RunningWorkers> {
  // The sensors read SCANFLOW_PROMETHEUS_URL when the workers create their activities.
  process.env.SCANFLOW_PROMETHEUS_URL = o.prometheusUrl;
  const config: ScanflowConfig = {
    home: mkdtempSync(join(tmpdir(), `${o.tmpPrefix}-`)),
    temporal: {
      address: requireEnv('SCANFLOW_TEST_TEMPORAL_ADDRESS'),
      namespace: requireEnv('SCANFLOW_TEST_NAMESPACE'),
      uiPort: 8233,
    },
    knowledge: { kind: 'local', directory: mkdtempSync(join(tmpdir(), `${o.tmpPrefix}-kb-`)) },
    platform: { kind: 'kubernetes', kubeconfig: c.kubeconfigPath, namespace },
  };
  return startWorkers({ config, roles: ['agents', 'kubernetes'], logLevel: 'ERROR' });
}

/** Until Prometheus has `count` targets of `job` up (the scripted replicas scraped). */
export async function scrapedUp(prometheusUrl: string, job: string, count: number, timeoutMs = 90_000): Promise<void> {
  await waitFor(
    `${count} scripted targets of ${job} up in Prometheus`,
    async () => {
      const res = (await (
        await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(`count(up{job="${job}"} == 1)`)}`)
      ).json()) as { data: { result: Array<{ value: [number, string] }> } };
      return res.data.result[0]?.value[1] === String(count);
    },
    timeoutMs,
  );
}
