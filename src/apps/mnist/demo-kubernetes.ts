/**
 * `npm run demo -- --platform kubernetes`: the MNIST case study (the same loop, options and report
 * as demo.ts) on a real-node Kubernetes cluster started here (kubernetes/stack.ts):
 *   - the platform worker (role kubernetes) is deploy/worker/workers.yaml's Deployment, in a pod on
 *     a real node with the least-privilege ServiceAccount of deploy/rbac: every primitive (the
 *     deploy, the executor's upgrade) runs there, with that token;
 *   - the agents' and ML workers run in this process, on the host: the ML worker trains V1 on 60,000
 *     images before anything is served, picks and evaluates; on this 2-core machine a pod of it would
 *     take one of the two node CPUs the model-server pods are pinned to; the agents' worker holds only
 *     workflow state. Both reach the same Temporal and S3 as the pods. (deploy/worker/workers.yaml has
 *     their Deployments for a real cluster.)
 *   - each retrain the planner starts is a Kubernetes Job of the project's image with CPU and memory
 *     limits (kubernetes/ml-worker.ts, src/activities/platform/training-job.ts), so it takes at most
 *     its CPU limit from the node of the model-server pod beside it; SCANFLOW_TRAIN_IN_JOB=0 retrains
 *     on the host instead, SCANFLOW_TRAINING_JOB_CPU / _MEMORY set the limits (kubernetes/training-options.ts);
 *   - the model server is a Deployment + Service of the project's image (readiness and liveness
 *     probes, two pods on two nodes), its registry and prediction log on the S3 server; the
 *     executor's upgrade is a rolling update, timed from the API server (kubernetes/rollouts.ts);
 *     the traffic goes through the entry Service and counts the failed requests;
 *   - Prometheus discovers and scrapes the model-server pods (src/stack/kubernetes-prometheus.ts).
 * Writes the local demo's report, plus kubernetes.md: placement, rolling updates, scraped series.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, type ScanflowConfig } from '../../config.js';
import { openKnowledgeStore } from '../../knowledge/open-store.js';
import type { RunningWorkers, startWorkers } from '../../../workers/run.js';
import { portInUse } from '../../stack/ports.js';
import { bootstrapWithCache } from './demo-bootstrap.js';
import { demoRunRecord, runAgentIntervals } from './demo-intervals.js';
import type { DemoOptions } from './demo-options.js';
import { KubernetesMnistCaseStudy } from './kubernetes/case-study.js';
import { RolloutWatcher, type Rollout } from './kubernetes/rollouts.js';
import { startMlWorkerWithTrainingJobs, type MlWorkerWithJobs } from './kubernetes/ml-worker.js';
import { startKubernetesStack, type KubernetesStack } from './kubernetes/stack.js';
import { demoTrainingJobs } from './kubernetes/training-options.js';
import { createTrainingJobActivities } from '../../activities/platform/training-job.js';
import { OneOffJobs } from '../../platform/kubernetes/one-off-job.js';
import { storeForService } from '../../serving/store-config.js';
import { MNIST_APP } from './names.js';
import { writeReport, type DemoRun } from './report.js';

const log = (line: string): void => console.log(line);

/** Where each workload ran, what the rolling updates took, what Prometheus scraped. */
export interface KubernetesFigures {
  placement: Array<{ pod: string; node: string; role: string }>;
  rollouts: Rollout[];
  failedRequests: number;
  /** Inference requests each model-server pod answered, as Prometheus scraped them (pod → count). */
  scraped: Record<string, number>;
  timings: Record<string, number>;
}

export interface KubernetesDemoRun extends DemoRun {
  kubernetes: KubernetesFigures;
}

export async function runKubernetesDemo(
  options: DemoOptions,
  start: typeof startWorkers,
  overrides: { cluster?: { kubeconfigPath: string; image: string }; namespace?: string } = {},
): Promise<KubernetesDemoRun> {
  const base = loadConfig();
  const runId = new Date().toISOString().replace(/[:.]/g, '-');
  const runDir = resolve(options.runDir ?? join(base.home, 'demo', runId));
  mkdirSync(runDir, { recursive: true });
  log(`[demo] run directory ${runDir} (platform kubernetes)`);
  if (await portInUse(base.temporal.address))
    throw new Error(
      `something already listens on ${base.temporal.address}: stop 'npm run dev' (the demo starts its own stack on the same database) or set TEMPORAL_ADDRESS to a free port`,
    );
  // Checked before anything starts: a bad limit is named at once.
  const trainingJobs = demoTrainingJobs();
  // Queue behind another real-node cluster (a test run, another demo) rather than failing at once.
  process.env.SCANFLOW_NODES_WAIT_SECONDS ??= '1800';
  const [, port] = base.temporal.address.split(':');
  const stack = await startKubernetesStack({
    runDir,
    temporalDb: join(base.home, 'temporal.db'),
    temporalPort: Number(port),
    uiPort: base.temporal.uiPort,
    temporalNamespace: base.temporal.namespace,
    namespace: overrides.namespace ?? 'scanflow',
    cluster: overrides.cluster,
    log,
  });
  let workers: RunningWorkers | undefined;
  let mlWorker: MlWorkerWithJobs | undefined;
  let watcher: RolloutWatcher | undefined;
  try {
    const config: ScanflowConfig = {
      ...base,
      temporal: { ...base.temporal, address: stack.temporal.address },
      knowledge: stack.storeConfig,
      platform: { kind: 'kubernetes', kubeconfig: stack.kubeconfigPath, namespace: stack.namespace },
    };
    // Not the kubernetes role: its activities must run in the platform worker's pod.
    workers = await start({
      config,
      roles: trainingJobs.enabled ? ['agents', 'system'] : ['agents', 'ml', 'system'],
      logLevel: 'WARN',
    });
    const store = openKnowledgeStore(stack.storeConfig);
    if (trainingJobs.enabled) {
      mlWorker = await startMlWorkerWithTrainingJobs({
        config,
        resources: workers.resources,
        jobs: createTrainingJobActivities({
          jobs: OneOffJobs.connect({ kubeconfigPath: stack.kubeconfigPath, namespace: stack.namespace }),
          store,
          podStore: storeForService(stack.storeConfig),
          defaults: { image: stack.image, resources: trainingJobs.resources },
        }),
      });
      log(
        `[demo] retrains run as Kubernetes Jobs of ${stack.image} with ${JSON.stringify(trainingJobs.resources)} (SCANFLOW_TRAIN_IN_JOB=0: on this host)`,
      );
    }
    const study = new KubernetesMnistCaseStudy({ client: workers.client, store, runId, log }, options, stack);

    const bootstrap = await bootstrapWithCache(study, store, base.home, options.fresh, log);

    const t1 = Date.now();
    const endpoint = await study.deploy();
    stack.timings.modelServer = Math.round((Date.now() - t1) / 100) / 10;
    log(
      `[demo] model server deployed by the platform worker's pod (Deployment ${study.deploymentName}, entry Service ${endpoint}) in ${stack.timings.modelServer} s`,
    );
    watcher = new RolloutWatcher(stack.apps, stack.core, stack.namespace, study.deploymentName, log);
    watcher.start();
    await runAgentIntervals(study, options, log);
    await watcher.stop();

    const figures = await kubernetesFigures(stack, study, watcher);
    const run: KubernetesDemoRun = {
      ...(await demoRunRecord(study, {
        runId,
        runDir,
        options,
        bootstrap,
        uiBase: `${stack.temporal.uiUrl}/namespaces/${base.temporal.namespace}/workflows`,
      })),
      kubernetes: figures,
    };
    log(`[demo] report: ${await writeReport(run)}`);
    log(`[demo] Kubernetes: ${writeKubernetesReport(run)}`);
    for (const id of study.agentIds()) log(`[demo]   ${id}: ${run.uiBase}/${encodeURIComponent(id)}`);
    return run;
  } finally {
    await watcher?.stop().catch(() => undefined);
    await mlWorker?.shutdown();
    await workers?.shutdown();
    await stack.stop();
  }
}

async function kubernetesFigures(
  stack: KubernetesStack,
  study: KubernetesMnistCaseStudy,
  watcher: RolloutWatcher,
): Promise<KubernetesFigures> {
  const pods = await stack.core.listNamespacedPod({ namespace: stack.namespace });
  const placement = pods.items.map((p) => ({
    pod: p.metadata?.name ?? '',
    node: p.spec?.nodeName ?? '',
    role: p.metadata?.labels?.['scanflow.io/worker-roles']
      ? `worker (${p.metadata.labels['scanflow.io/worker-roles']}, ServiceAccount ${p.spec?.serviceAccountName})`
      : (p.metadata?.labels?.['scanflow.io/component'] ?? '?'),
  }));
  const scraped: Record<string, number> = {};
  for (const [labels, value] of await stack.prometheus
    .query(`sum by (pod) (max_over_time(scanflow_inference_requests_total{namespace="${stack.namespace}"}[1h]))`)
    .catch(() => []))
    scraped[labels.pod ?? '?'] = value;
  return {
    placement,
    rollouts: watcher.rollouts,
    failedRequests: study.rows.reduce((n, r) => n + r.failed, 0),
    scraped,
    timings: stack.timings,
  };
}

function writeKubernetesReport(run: KubernetesDemoRun): string {
  const k = run.kubernetes;
  const lines = [
    '# The MNIST case study on Kubernetes: what ran where',
    '',
    `Run ${run.runId}. Failed requests over the run (every rolling update included): **${k.failedRequests}**.`,
    '',
    `Start-up (s): ${Object.entries(k.timings)
      .map(([what, s]) => `${what} ${s}`)
      .join(', ')}.`,
    '',
    '| pod | node | role |',
    '|---|---|---|',
    ...k.placement.map((p) => `| ${p.pod} | ${p.node} | ${p.role} |`),
    '',
    '## Rolling updates (the executor’s upgradeOnlineWorkflow)',
    '',
    '| to version | template written | first new pod Ready (s) | rollout complete (s) | fewest Ready pods during |',
    '|---|---|---|---|---|',
    ...k.rollouts.map(
      (r) =>
        `| v${r.version} | ${r.appliedAt} | ${r.firstReadySeconds?.toFixed(1) ?? '-'} | ${r.completeSeconds?.toFixed(1) ?? '-'} | ${Number.isFinite(r.minReadyDuring) ? r.minReadyDuring : '-'} |`,
    ),
    '',
    '## Scraped by Prometheus (Kubernetes pod discovery)',
    '',
    'Inference requests answered per model-server pod (`scanflow_inference_requests_total`, highest value seen):',
    '',
    ...(Object.keys(k.scraped).length
      ? Object.entries(k.scraped).map(([pod, n]) => `- ${pod}: ${n}`)
      : ['- (no series)']),
    '',
    `Agents: ${['tracker', 'checker', 'planner', 'executor'].map((a) => `${MNIST_APP}/${a}`).join(', ')}.`,
    '',
  ];
  const file = join(run.runDir, 'kubernetes.md');
  writeFileSync(file, lines.join('\n'));
  return file;
}
