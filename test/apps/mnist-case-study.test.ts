/**
 * The MNIST case study, shortened, on the real dev server, the real S3 server (knowledge base),
 * real model-server processes on the local platform and native TensorFlow. Assertions come from
 * the agents' decision logs and the registry, not from the demo's printout.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MnistCaseStudy } from '../../src/apps/mnist/case-study.js';
import { parseDemoOptions, type DemoOptions } from '../../src/apps/mnist/demo-options.js';
import { HELD_OUT_KEY, HELD_OUT_METRIC, MNIST_APP } from '../../src/apps/mnist/names.js';
import type { ScanflowConfig } from '../../src/config.js';
import { openKnowledgeStore } from '../../src/knowledge/open-store.js';
import type { KnowledgeStoreConfig } from '../../src/knowledge/types.js';
import { buildClassifier, evaluateClassifier } from '../../src/ml/classifier.js';
import { getImageSet } from '../../src/knowledge/image-set.js';
import { startWorkers, type RunningWorkers } from '../../workers/run.js';
import { installQuietRuntime, requireEnv, s3Config } from '../harness/env.js';
import type { Decision } from '../../src/agents/messages.js';

// Bootstrap (a small training run) and a dozen intervals of a few seconds each.
jest.setTimeout(600_000);

/** Polls `check` (collecting the agents' decisions each time) until it holds; agents act on their own schedule. */
async function eventually(
  study: MnistCaseStudy,
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await study.collectDecisions();
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const count = (d: Decision, sensor: string): number =>
  Number((d.observed[sensor] as { count?: number } | undefined)?.count ?? NaN);

describe('MNIST case study: tracker → checker → planner → executor', () => {
  let workers: RunningWorkers;
  let study: MnistCaseStudy;
  let options: DemoOptions;
  const storeConfig: KnowledgeStoreConfig = {
    kind: 's3',
    ...s3Config(),
    bucket: 'scanflow-case-study',
    prefix: `run-${Date.now()}/`,
  };
  const store = openKnowledgeStore(storeConfig);

  beforeAll(async () => {
    installQuietRuntime();
    const parsed = parseDemoOptions([
      '--intervals',
      '5',
      '--interval-seconds',
      '6',
      '--predictions',
      '400',
      '--prediction-threshold',
      '300',
      '--retrain-threshold',
      '1000000',
      '--labels-per-check',
      '60',
      '--label-budget',
      '600',
      '--drift',
      'all',
    ]);
    if (parsed === 'help') throw new Error('unexpected help');
    options = { ...parsed, classifierEpochs: 1, detectorEpochs: 1 };
    const config: ScanflowConfig = {
      home: mkdtempSync(join(tmpdir(), 'scanflow-case-study-')),
      temporal: {
        address: requireEnv('SCANFLOW_TEST_TEMPORAL_ADDRESS'),
        namespace: requireEnv('SCANFLOW_TEST_NAMESPACE'),
        uiPort: 8233,
      },
      knowledge: storeConfig,
      platform: { kind: 'local', workDir: mkdtempSync(join(tmpdir(), 'scanflow-case-study-platform-')) },
    };
    workers = await startWorkers({ config, roles: ['agents', 'ml', 'kubernetes', 'system'], logLevel: 'ERROR' });
    study = new MnistCaseStudy(
      {
        client: workers.client,
        store,
        storeConfig,
        localPlatform: workers.resources.localPlatform!,
        runId: `test-${Date.now()}`,
      },
      options,
    );
    // A small V1 (5,000 training images, one epoch) keeps the test short; the demo trains on all 60,000.
    await study.bootstrap({ trainData: 'mnist:train:5000' });
    await study.deploy();
    await study.startAgents();
  });

  afterAll(async () => {
    await study?.stopAgents('test finished').catch(() => undefined);
    await workers?.shutdown();
  });

  it('the tracker calls the checker exactly when the count reaches the threshold', async () => {
    await study.runInterval(0);
    await study.runInterval(1);
    const checksSoFar = () =>
      (study.decisions.get('checker') ?? []).filter((d) => d.strategy === 'check-predictions').length;
    const callsSoFar = () => (study.decisions.get('tracker') ?? []).filter((d) => d.outcome === 'acted').length;
    // A tracker decision is recorded after its last action, so it may trail the check it caused.
    await eventually(
      study,
      'a check by the checker, and the tracker decision that called it',
      () => checksSoFar() > 0 && callsSoFar() >= checksSoFar(),
    );
    const tracker = study.decisions.get('tracker') ?? [];
    expect(tracker.length).toBeGreaterThan(0);
    for (const d of tracker.filter((x) => x.outcome !== 'failed')) {
      const seen = count(d, 'predictions');
      expect(Number.isFinite(seen)).toBe(true);
      expect(d.constraint).toBe(seen >= options.agents.predictionThreshold);
      expect(d.outcome).toBe(seen >= options.agents.predictionThreshold ? 'acted' : 'constraint-false');
    }
    const calls = tracker.filter((d) => d.outcome === 'acted').length;
    expect(calls).toBeGreaterThan(0);
    const checks = (study.decisions.get('checker') ?? []).filter((d) => d.strategy === 'check-predictions');
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.length).toBeLessThanOrEqual(calls);
    for (const c of checks) expect(c.event).toMatchObject({ kind: 'call', name: 'check_predictions' });
  });

  it('does not promote a candidate worse than production', async () => {
    // A real but untrained network, evaluated for real on the held-out drifted set.
    const untrained = buildClassifier(99);
    const accuracy = evaluateClassifier(untrained, await getImageSet(store, HELD_OUT_KEY)).accuracy;
    const bad = await study.registry.register({
      model: untrained,
      metrics: { [HELD_OUT_METRIC]: accuracy },
      lineage: { datasets: [], notes: 'test: untrained' },
    });
    const before = (await study.registry.production())!;
    expect(accuracy).toBeLessThan(before.metrics[HELD_OUT_METRIC]!);
    await study.runInterval(2);
    await study.runInterval(3);
    // The registry changes inside the planner's action; its decision is recorded when the action returns.
    await eventually(
      study,
      `v${bad.version} archived by the planner`,
      async () =>
        (await study.registry.get(bad.version)).stage === 'archived' &&
        (study.decisions.get('planner') ?? []).some((d) => d.strategy === 'reject-if-worse' && d.outcome === 'acted'),
    );
    expect((await study.registry.production())!.version).toBe(before.version);
    const planner = study.decisions.get('planner') ?? [];
    expect(planner.some((d) => d.strategy === 'reject-if-worse' && d.outcome === 'acted')).toBe(true);
    expect(planner.some((d) => d.strategy === 'promote-if-better' && d.outcome === 'acted')).toBe(false);
    expect((study.decisions.get('executor') ?? []).filter((d) => d.strategy === 'change-model')).toHaveLength(0);
  });

  it('retrains, promotes a better candidate, and the server answers with it without a failed request', async () => {
    // Let the planner retrain now: a person (or another agent) tunes its threshold at run time.
    await study.agents.get(MNIST_APP, 'planner').setParameters({ retrainThreshold: 50 });
    const production = (await study.registry.production())!.version;
    for (let i = 4; i < 10 && (await study.registry.production())!.version === production; i++)
      await study.runInterval(i);
    const promoted = (await study.registry.production())!;
    expect(promoted.version).toBeGreaterThan(production);
    expect(promoted.lineage.parentVersion).toBeDefined();
    expect(promoted.metrics[HELD_OUT_METRIC]).toBeGreaterThan(
      (await study.registry.get(promoted.lineage.parentVersion!)).metrics[HELD_OUT_METRIC]!,
    );
    // The registry changes at the executor's first action; its decision is recorded once the
    // server upgrade (second action) is done too.
    await eventually(study, 'the executor upgrading the model server', () =>
      (study.decisions.get('executor') ?? []).some((d) => d.strategy === 'change-model' && d.outcome === 'acted'),
    );
    // One more interval: no answer comes from a version older than the promoted one (the planner may
    // promote an even newer one meanwhile), and no request failed in the whole run.
    const after = await study.runInterval(10);
    expect(Object.keys(after.servedVersions).length).toBeGreaterThan(0);
    for (const version of Object.keys(after.servedVersions))
      expect(Number(version)).toBeGreaterThanOrEqual(promoted.version);
    expect(study.rows.reduce((n, r) => n + r.failed, 0)).toBe(0);
    expect(new Set(study.rows.flatMap((r) => Object.keys(r.servedVersions))).size).toBeGreaterThanOrEqual(2);
  });
});
