/**
 * The MNIST demo on Kubernetes, shortened, on the harness's real-node cluster: the demo's own stack
 * (kubernetes/stack.ts: S3 and Temporal reachable from the pods, deploy/rbac, the platform worker
 * Deployment in a pod, Prometheus discovering the pods) and its case study (the model server as a
 * Deployment + Service deployed by the deployWorkflow primitive). The agents' and ML workers run in
 * this process, as in the demo. A weak V1 (5,000 training images, one epoch) under full drift makes
 * a better candidate, hence a promotion, a matter of construction, as in the local case-study test.
 * Asserted: the agents decided (every agent has decisions; the executor's change-model acted); the
 * executor's upgrade ran in the platform worker's pod and was a rolling update that completed with
 * never fewer Ready pods than replicas; the Service then answers with the promoted version; no
 * request failed over the whole run; Prometheus discovered and scraped the model-server pods.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import protos from '@temporalio/proto';
import { agentWorkflowId } from '../../src/agents/conventions.js';
import { parseDemoOptions, type DemoOptions } from '../../src/apps/mnist/demo-options.js';
import { KubernetesMnistCaseStudy } from '../../src/apps/mnist/kubernetes/case-study.js';
import { RolloutWatcher } from '../../src/apps/mnist/kubernetes/rollouts.js';
import { startKubernetesStack, type KubernetesStack } from '../../src/apps/mnist/kubernetes/stack.js';
import { AGENT_NAMES } from '../../src/apps/mnist/case-study.js';
import { CLASSIFIER_MODEL, MNIST_APP } from '../../src/apps/mnist/names.js';
import { MODEL_VERSION_ENV } from '../../src/serving/model-version.js';
import type { ScanflowConfig } from '../../src/config.js';
import { openKnowledgeStore } from '../../src/knowledge/open-store.js';
import { startWorkers, type RunningWorkers } from '../../workers/run.js';
import { installQuietRuntime, requireEnv } from '../harness/env.js';
import { inferBody } from '../serving/fixtures.js';
import { http, nodesInfo, waitFor } from './support.js';

jest.setTimeout(600_000);
const EventType = protos.temporal.api.enums.v1.EventType;

describe('npm run demo -- --platform kubernetes (shortened) on real nodes', () => {
  let stack: KubernetesStack;
  let workers: RunningWorkers;
  let study: KubernetesMnistCaseStudy;
  let watcher: RolloutWatcher;
  let options: DemoOptions;
  const runId = `test-${Date.now().toString(36)}`;

  beforeAll(async () => {
    installQuietRuntime();
    const dir = join(requireEnv('SCANFLOW_TEST_DIR'), 'mnist-demo-kubernetes');
    mkdirSync(dir, { recursive: true });
    const parsed = parseDemoOptions([
      '--platform',
      'kubernetes',
      '--interval-seconds',
      '6',
      '--predictions',
      '400',
      '--prediction-threshold',
      '300',
      '--retrain-threshold',
      '50',
      '--labels-per-check',
      '60',
      '--label-budget',
      '600',
      '--drift',
      'all',
    ]);
    if (parsed === 'help') throw new Error('unexpected help');
    options = { ...parsed, classifierEpochs: 1, detectorEpochs: 1 };
    stack = await startKubernetesStack({
      runDir: dir,
      temporalDb: join(dir, 'temporal.db'),
      temporalNamespace: 'default',
      namespace: `mnist-k8s-${Date.now().toString(36)}`,
      cluster: { kubeconfigPath: requireEnv('SCANFLOW_TEST_KUBECONFIG'), image: nodesInfo().image.ref },
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const config: ScanflowConfig = {
      home: dir,
      temporal: { address: stack.temporal.address, namespace: 'default', uiPort: 8233 },
      knowledge: stack.storeConfig,
      platform: { kind: 'kubernetes', kubeconfig: stack.kubeconfigPath, namespace: stack.namespace },
    };
    workers = await startWorkers({ config, roles: ['agents', 'ml', 'system'], logLevel: 'ERROR' });
    study = new KubernetesMnistCaseStudy(
      { client: workers.client, store: openKnowledgeStore(stack.storeConfig), runId },
      options,
      stack,
    );
    await study.bootstrap({ trainData: 'mnist:train:5000' });
    await study.deploy();
    watcher = new RolloutWatcher(stack.apps, stack.core, stack.namespace, study.deploymentName, (line) =>
      process.stderr.write(`${line}\n`),
    );
    watcher.start();
    await study.startAgents();
  });

  afterAll(async () => {
    await watcher?.stop().catch(() => undefined);
    await study?.stopAgents('test finished').catch(() => undefined);
    await workers?.shutdown();
    await stack?.stop();
  });

  it('promotes a model, rolls the Deployment to it with no failed request, and the Service answers with it', async () => {
    // The deploy primitive ran in the platform worker's pod (its Temporal identity is pid@pod).
    const deploy = await workers.client.workflow.getHandle(`scanflow.mnist.deploy.${runId}`).fetchHistory();
    const deployStarted = (deploy.events ?? []).filter(
      (e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    );
    expect(deployStarted.length).toBeGreaterThan(0);
    for (const e of deployStarted)
      expect(e.activityTaskStartedEventAttributes?.identity).toMatch(new RegExp(`@${stack.platformWorkerPod}$`));

    let promoted: number | undefined;
    for (let i = 0; i < 14; i++) {
      await study.runInterval(i);
      const production = (await study.registry.production())?.version ?? 1;
      const upgraded = (study.decisions.get('executor') ?? []).some(
        (d) => d.strategy === 'change-model' && d.outcome === 'acted',
      );
      if (production > 1 && upgraded) {
        promoted = production;
        break;
      }
    }
    expect(promoted).toBeGreaterThan(1);
    // The rolling update to it, or to a version promoted right after it (the next retrain can
    // land within seconds and supersede a rollout in progress: v2 then v3 seen), completes; one
    // more interval of traffic runs on the new pods.
    await waitFor(`a completed rollout to v${promoted} or later`, 180_000, async () =>
      watcher.rollouts.some((r) => Number(r.version) >= promoted! && r.completeSeconds !== undefined),
    );
    // "Complete" is the new pods Ready; the old ones still answer pinned keep-alive connections
    // through their preStop pause and drain: the next interval starts once they are gone.
    const deployment = await stack.apps.readNamespacedDeployment({
      name: study.deploymentName,
      namespace: stack.namespace,
    });
    const selector = Object.entries(deployment.spec?.selector?.matchLabels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    await waitFor('no pod of a version before the promoted one', 120_000, async () => {
      const pods = await stack.core.listNamespacedPod({ namespace: stack.namespace, labelSelector: selector });
      return pods.items.every((p) =>
        (p.spec?.containers ?? []).every((c) =>
          (c.env ?? []).every((e) => e.name !== MODEL_VERSION_ENV || Number(e.value) >= promoted!),
        ),
      );
    });
    const after = await study.runInterval(study.rows.length);
    for (const version of Object.keys(after.servedVersions)) expect(Number(version)).toBeGreaterThanOrEqual(promoted!);
    const answer = await http(`${study.endpoint}/v2/models/${CLASSIFIER_MODEL}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: inferBody(1),
    });
    expect(answer.status).toBe(200);
    expect(Number((JSON.parse(answer.body) as { model_version: string }).model_version)).toBeGreaterThanOrEqual(
      promoted!,
    );

    // Zero failed requests over the run, rolling updates included; new pods Ready before old ones went.
    expect(study.rows.reduce((n, r) => n + r.failed, 0)).toBe(0);
    const replicas = study.modelServerSpec().services[0]!.replicas;
    const done = watcher.rollouts.filter((r) => r.completeSeconds !== undefined);
    expect(done.length).toBeGreaterThan(0);
    for (const r of done) expect(r.minReadyDuring).toBeGreaterThanOrEqual(replicas);
    process.stderr.write(
      `[nodes] mnist demo on Kubernetes: v${promoted} promoted after ${study.rows.length - 1} intervals; rollouts ${done
        .map(
          (r) =>
            `v${r.version} first Ready ${r.firstReadySeconds?.toFixed(1)} s, complete ${r.completeSeconds?.toFixed(1)} s`,
        )
        .join('; ')}\n`,
    );
  });

  it('recorded every agent’s decisions, and the executor’s upgrade ran in the platform worker’s pod', async () => {
    await study.collectDecisions();
    for (const name of AGENT_NAMES) expect((study.decisions.get(name) ?? []).length).toBeGreaterThan(0);
    const executor = await workers.client.workflow.getHandle(agentWorkflowId(MNIST_APP, 'executor')).fetchHistory();
    const events = executor.events ?? [];
    const upgrades = events.filter(
      (e) =>
        e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'upgradeOnlineWorkflow',
    );
    expect(upgrades.length).toBeGreaterThan(0);
    for (const u of upgrades) {
      const started = events.find(
        (e) =>
          e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED &&
          String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(u.eventId),
      );
      expect(started?.activityTaskStartedEventAttributes?.identity).toMatch(new RegExp(`@${stack.platformWorkerPod}$`));
    }
  });

  it('Prometheus discovered and scraped the model-server pods', async () => {
    const pods = (
      await stack.core.listNamespacedPod({
        namespace: stack.namespace,
        labelSelector: 'scanflow.io/component=model-server',
      })
    ).items
      .filter((p) => !p.metadata?.deletionTimestamp)
      .map((p) => p.metadata!.name!);
    // Every current pod is a target that answers its scrape (up == 1), with the pod's labels ...
    const up = await waitFor('every current model-server pod scraped', 60_000, async () => {
      const series = await stack.prometheus.query(`up{namespace="${stack.namespace}",component="model-server"}`);
      const live = new Set(series.filter(([, v]) => v === 1).map(([labels]) => labels.pod));
      return pods.every((p) => live.has(p)) ? series : undefined;
    });
    for (const [labels] of up) expect(labels.node).toMatch(/^scanflow-node-\d+$/);
    // ... and the requests the pods answered over the run are in Prometheus (a pod's counter appears
    // with its first request: pods of the last rollout may not have had one yet).
    const served = await stack.prometheus.query(
      `sum(max_over_time(scanflow_inference_requests_total{namespace="${stack.namespace}"}[1h]))`,
    );
    expect(served[0]?.[1]).toBeGreaterThan(0);
  });
});
