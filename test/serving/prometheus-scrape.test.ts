/**
 * The model server's metrics as the agents read them: through a real Prometheus scraping every
 * local replica, the scrape targets kept up to date by the local platform.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalPlatform } from '../../src/platform/local/local-platform.js';
import { localModelServerSupport } from '../../src/serving/local-model-server.js';
import { modelServerService } from '../../src/serving/service-spec.js';
import type { ScrapeJob } from '../../src/stack/prometheus-server.js';
import { loopingSource } from '../../src/traffic/sources.js';
import { runTraffic } from '../../src/traffic/traffic-client.js';
import { requireEnv } from '../harness/env.js';
import { waitFor } from '../kubernetes/cluster.js';
import { images, s3Store, seededRegistry, uniqueS3StoreConfig } from './fixtures.js';

const ref = { app: 'mnist', workflow: 'prom' };

describe('model-server metrics in Prometheus', () => {
  const prometheus = requireEnv('SCANFLOW_TEST_PROMETHEUS_URL');
  const configFile = requireEnv('SCANFLOW_TEST_PROMETHEUS_CONFIG');
  const original = readFileSync(configFile, 'utf8');
  /** Same file format as src/stack/prometheus-server.ts writes. */
  const setScrapeJobs = async (jobs: ScrapeJob[]) => {
    const lines = [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      jobs.length ? 'scrape_configs:' : 'scrape_configs: []',
    ];
    for (const j of jobs)
      lines.push(
        `  - job_name: ${JSON.stringify(j.job)}`,
        '    static_configs:',
        `      - targets: ${JSON.stringify(j.targets)}`,
      );
    writeFileSync(configFile, lines.join('\n') + '\n');
    const res = await fetch(`${prometheus}/-/reload`, { method: 'POST' });
    if (!res.ok) throw new Error(`reload failed: ${res.status}`);
  };
  const storeConfig = uniqueS3StoreConfig('prometheus');
  const platform = new LocalPlatform({
    ...localModelServerSupport(storeConfig),
    workDir: mkdtempSync(join(tmpdir(), 'scanflow-prom-')),
    onScrapeTargets: setScrapeJobs,
  });

  const query = async (q: string): Promise<number | undefined> => {
    const res = (await (await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as {
      data: { result: Array<{ value: [number, string] }> };
    };
    const v = res.data.result[0]?.value[1];
    return v === undefined ? undefined : Number(v);
  };

  beforeAll(async () => {
    await seededRegistry(s3Store(storeConfig), 'mnist', 1);
    await platform.deployWorkflow({
      ...ref,
      services: [
        modelServerService({ name: 'model-server', store: storeConfig, model: 'mnist', replicas: 2, logFlushMs: 200 }),
      ],
    });
  });
  afterAll(async () => {
    await platform.close();
    writeFileSync(configFile, original);
    await fetch(`${prometheus}/-/reload`, { method: 'POST' });
  });

  it('scrapes every replica and sums the predictions the traffic produced', async () => {
    expect(platform.scrapeJobs()).toEqual([
      {
        job: 'mnist-prom-model-server',
        targets: [expect.stringMatching(/^127\.0\.0\.1:\d+$/), expect.stringMatching(/^127\.0\.0\.1:\d+$/)],
      },
    ]);
    const sample = { count: 6, height: 28, width: 28, pixels: Float32Array.from(images(6, 11)) };
    const report = await runTraffic({
      url: platform.endpoint(ref),
      model: 'mnist',
      source: loopingSource(sample),
      imagesPerRequest: 2,
      maxRequests: 30,
      concurrency: 3,
    });
    expect(report).toMatchObject({ ok: 30, images: 60 });
    await waitFor(
      'both replicas up in Prometheus',
      async () => (await query('count(up{job="mnist-prom-model-server"} == 1)')) === 2,
    );
    const total = await waitFor('60 predictions in Prometheus', async () => {
      const v = await query('sum(scanflow_predictions_total{job="mnist-prom-model-server",version="1"})');
      return v === 60 ? v : undefined;
    });
    expect(total).toBe(60);
    expect(await query('max(scanflow_model_version{job="mnist-prom-model-server"})')).toBe(1);
    expect(await query('sum(scanflow_inference_requests_total{job="mnist-prom-model-server",code="200"})')).toBe(30);
  });

  it('follows scaling: a removed replica leaves the scrape targets', async () => {
    await platform.duplicateWorkflowInstance(ref, 'model-server', 1);
    expect(platform.scrapeJobs()[0]!.targets).toHaveLength(1);
    expect(readFileSync(configFile, 'utf8')).toContain(platform.scrapeJobs()[0]!.targets[0]!);
    await waitFor('one target left', async () => (await query('count(up{job="mnist-prom-model-server"})')) === 1);
  });
});
