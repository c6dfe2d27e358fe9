/**
 * Serving during a retrain on Kubernetes: the model server's p50/p99 under a fixed LoadGen Server
 * load (src/loadgen, the HttpOipSut, one image per query, through its Service) on its real node,
 * idle, and while a training Job (src/activities/platform/training-job.ts) trains on the SAME node
 * with a CPU limit and without one. Each phase is one LoadGen run of --seconds; the Job's window
 * starts once its pod runs (and the training outlasts it: the table says so). Phases alternate in
 * the same run (idle, limited, unlimited, … idle) so the ratios to idle p99 compare like with like
 * on a shared machine; the load average is printed beside every figure.
 *
 *   npx tsx bench/training-job.ts [--qps 50] [--seconds 20] [--rounds 2] [--limits 500m,none]
 *     [--train-images 60000] [--epochs 2]   (the training must outlast a phase: the table says whether it did)
 *
 * Needs root and the real nodes (bash scripts/provision nodes); queues behind another real-node
 * cluster for up to SCANFLOW_NODES_WAIT_SECONDS (1800 s unless set).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createMlActivities } from '../src/activities/ml/ml-activities.js';
import { openQsl, openSut } from '../src/activities/loadgen/loadgen-activities.js';
import { createTrainingJobActivities, trainingJobResources } from '../src/activities/platform/training-job.js';
import { ModelRegistry } from '../src/knowledge/model-registry.js';
import { openKnowledgeStore } from '../src/knowledge/open-store.js';
import type { KnowledgeStoreConfig } from '../src/knowledge/types.js';
import { s3StoreConfig } from '../src/knowledge/s3-endpoint.js';
import { computeSummary, resolveSettings, runLoadgen } from '../src/loadgen/index.js';
import { startControlPlane } from '../src/platform/kubernetes/control-plane/start.js';
import { startS3ForPods } from '../src/platform/kubernetes/control-plane/host-services.js';
import { realNodeNamespaceAnnotations } from '../src/platform/kubernetes/control-plane/real-nodes.js';
import { OneOffJobs } from '../src/platform/kubernetes/one-off-job.js';
import { S3_SECRET, storeForService } from '../src/serving/store-config.js';

const { values } = parseArgs({
  options: {
    qps: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '2' },
    limits: { type: 'string', default: '500m,none' },
    'train-images': { type: 'string', default: '60000' },
    epochs: { type: 'string', default: '2' },
  },
  strict: true,
});
const num = (flag: string, raw: string, min: number): number => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min)
    throw new Error(`--${flag} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
};
const QPS = num('qps', values.qps!, 1);
const SECONDS = num('seconds', values.seconds!, 5);
const ROUNDS = num('rounds', values.rounds!, 1);
const TRAIN_IMAGES = num('train-images', values['train-images']!, 1000);
const EPOCHS = num('epochs', values.epochs!, 1);
const LIMITS = values.limits!.split(',').map((s) => s.trim());
for (const l of LIMITS)
  if (!/^(none|\d+m|\d+(\.\d+)?)$/.test(l))
    throw new Error(`--limits must list CPU limits like 500m,1,none, got ${JSON.stringify(l)}`);

const root = fileURLToPath(new URL('..', import.meta.url));
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const log = (line: string): void => console.log(line);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function buildImage(): Promise<{ ref: string; archive: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [join(root, 'scripts/build-image'), '--json'],
      { maxBuffer: 16 * 1024 * 1024, timeout: 20 * 60_000 },
      (err, out, e) => {
        if (err) return reject(new Error(`scripts/build-image failed: ${err.message}\n${String(e).slice(-2_000)}`));
        resolve(JSON.parse(String(out).trim().split('\n').pop() ?? '') as { ref: string; archive: string });
      },
    );
  });
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(500);
  }
}

async function main(): Promise<void> {
  process.env.SCANFLOW_NODES_WAIT_SECONDS ??= '1800';
  const dir = mkdtempSync(join(tmpdir(), 'scanflow-bench-trainjob-'));
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const image = await buildImage();
    const cluster = await startControlPlane({
      workDir: dir,
      logDir: join(dir, 'logs'),
      nodes: [],
      realNodes: { count: 2, images: [image.archive] },
      log: (line) => log(`[cluster] ${line}`),
    });
    stops.push(() => cluster.stop());
    const node = cluster.realNodes!.nodes[0]!;
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);

    mkdirSync(join(dir, 's3'), { recursive: true });
    const s3 = await startS3ForPods({
      dataDir: join(dir, 's3'),
      logDir: join(dir, 'logs'),
      accessKey: 'scanflow',
      secretKey: randomBytes(16).toString('hex'),
    });
    stops.push(() => s3.process.stop());
    const storeConfig: KnowledgeStoreConfig = s3StoreConfig(s3.endpoint, s3, 'scanflow');
    const store = openKnowledgeStore(storeConfig);

    const namespace = 'bench-trainjob';
    await core.createNamespace({
      body: { metadata: { name: namespace, annotations: realNodeNamespaceAnnotations() } },
    });
    await waitFor('the namespace ServiceAccount', 60_000, () =>
      core.readNamespacedServiceAccount({ name: 'default', namespace }).then(() => true),
    );
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: S3_SECRET },
        stringData: { endpoint: s3.endpoint, 'access-key': s3.accessKey, 'secret-key': s3.secretKey },
      },
    });

    // V1 to serve: a small training on this host (what is served does not matter for latency).
    const v1 = await createMlActivities({ store }).trainClassifier({
      trainData: 'mnist:train:5000',
      evalData: 'mnist:test:500',
      epochs: 1,
      seed: 1,
      batchSize: 32,
    });
    await new ModelRegistry(store, 'mnist-classifier').promote(v1.version);

    // The model server as the demo runs it (same requests and limits), on the first node.
    const { arg, env, secretEnv } = storeForService(storeConfig);
    const labels = { app: 'bench', component: 'model-server' };
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'model-server', labels },
        spec: {
          nodeName: node.name,
          securityContext: { runAsNonRoot: true, runAsUser: 1000 },
          containers: [
            {
              name: 'main',
              image: image.ref,
              imagePullPolicy: 'Never',
              args: [
                'serve',
                '--store',
                arg,
                '--model',
                'mnist-classifier',
                '--host',
                '0.0.0.0',
                '--port',
                '8080',
                '--no-log',
              ],
              env: [
                { name: 'HOME', value: '/tmp' },
                ...Object.entries(env).map(([name, value]) => ({ name, value })),
                ...Object.entries(secretEnv).map(([name, ref]) => ({
                  name,
                  valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key } },
                })),
              ],
              ports: [{ containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/v2/health/ready', port: 8080 }, periodSeconds: 1 },
              resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
            },
          ],
        },
      },
    });
    await core.createNamespacedService({
      namespace,
      body: { metadata: { name: 'model-server' }, spec: { selector: labels, ports: [{ port: 8080 }] } },
    });
    const svc = await core.readNamespacedService({ name: 'model-server', namespace });
    const base = `http://${svc.spec?.clusterIP}:8080`;
    await waitFor('the model server Ready behind its Service', 300_000, async () =>
      (await fetch(`${base}/v2/health/ready`, { signal: AbortSignal.timeout(2_000) })).ok ? true : undefined,
    );

    const settings = resolveSettings({
      scenario: 'Server',
      targetQps: QPS,
      targetLatencyNs: 1e9,
      minDurationMs: SECONDS * 1000,
      maxDurationMs: SECONDS * 1000 + 2_000,
      minQueryCount: 1,
    });
    const sutSpec = { kind: 'http' as const, url: base, model: 'mnist-classifier' };
    const qsl = await openQsl(store, { kind: 'mnist-test', performanceSampleCount: 1024 }, sutSpec);
    const measure = async () => {
      const sut = await openSut(store, sutSpec, qsl, settings);
      try {
        const result = await runLoadgen({ settings, sut, qsl });
        const s = computeSummary(result.log, settings, sut.name);
        return {
          p50: s.latency.percentilesNs['50.00']! / 1e6,
          p99: s.latency.percentilesNs['99.00']! / 1e6,
          queries: s.queriesIssued,
          failed: s.samplesFailed ?? 0,
        };
      } finally {
        await sut.close?.();
      }
    };
    // Warm the server (first inferences compile kernels) before anything is measured.
    await measure();

    const jobs = OneOffJobs.connect({ kubeconfigPath: cluster.kubeconfigPath, namespace });
    const runningPod = () =>
      waitFor('the training pod running', 300_000, async () => {
        const pods = await core.listNamespacedPod({ namespace, labelSelector: 'job-name' });
        return pods.items.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp)?.metadata?.name;
      });
    type Row = { phase: string; p50: number; p99: number; queries: number; failed: number; load: string; note: string };
    const rows: Row[] = [];
    const phase = async (name: string, cpu?: string): Promise<void> => {
      if (!cpu) {
        const m = await measure();
        rows.push({ phase: name, ...m, load: load(), note: '' });
        log(`| ${name} | ${m.p50.toFixed(1)} | ${m.p99.toFixed(1)} | ${m.queries} | ${m.failed} | ${load()} |`);
        return;
      }
      const training = createTrainingJobActivities({
        jobs,
        store,
        podStore: storeForService(storeConfig),
        defaults: {
          image: image.ref,
          resources: trainingJobResources({ cpu, memory: '1536Mi' }),
          // The model server's node: the two compete for its one CPU.
          affinity: { nodeSelector: { 'kubernetes.io/hostname': node.name } },
        },
        pollMs: 500,
      });
      const t0 = Date.now();
      let endedAt = 0;
      const done = training
        .trainClassifierInJob({
          train: { trainData: `mnist:train:${TRAIN_IMAGES}`, evalData: 'mnist:test:500', epochs: EPOCHS, seed: 7 },
        })
        .then((r) => ((endedAt = Date.now()), r));
      await runningPod();
      const started = Date.now();
      const m = await measure();
      const windowEnd = Date.now();
      const r = await done;
      const note = endedAt && endedAt < windowEnd ? 'Job ended inside the window' : 'Job ran through the window';
      rows.push({ phase: name, ...m, load: load(), note });
      log(
        `| ${name} | ${m.p50.toFixed(1)} | ${m.p99.toFixed(1)} | ${m.queries} | ${m.failed} | ${load()} | pod running ${((started - t0) / 1000).toFixed(1)} s after create, Job ${((endedAt - t0) / 1000).toFixed(1)} s, ${r.imagesPerSecond.toFixed(0)} img/s; ${note} |`,
      );
    };

    log(
      `\n## Model server p99 on node ${node.name} (CPU ${node.cpus}) at ${QPS} queries/s (LoadGen Server, 1 image per query, ${SECONDS} s per phase), idle vs a training Job on the same node; load ${load()}`,
    );
    log('| phase | p50 ms | p99 ms | queries | failed | load average | Job |');
    log('|---|---|---|---|---|---|---|');
    for (let round = 0; round < ROUNDS; round++) {
      await phase('idle');
      for (const cpu of LIMITS)
        await phase(cpu === 'none' ? 'retrain Job, no CPU limit' : `retrain Job, CPU limit ${cpu}`, cpu);
    }
    await phase('idle');

    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    };
    const idle = median(rows.filter((r) => r.phase === 'idle').map((r) => r.p99));
    log(`\n## Medians over the rounds; ratio = p99 / idle p99 (${idle.toFixed(1)} ms); load at the end ${load()}`);
    log('| phase | runs | median p50 ms | median p99 ms | p99 / idle p99 |');
    log('|---|---|---|---|---|');
    for (const name of [...new Set(rows.map((r) => r.phase))]) {
      const of = rows.filter((r) => r.phase === name);
      const p99 = median(of.map((r) => r.p99));
      log(
        `| ${name} | ${of.length} | ${median(of.map((r) => r.p50)).toFixed(1)} | ${p99.toFixed(1)} | ${(p99 / idle).toFixed(2)} |`,
      );
    }
  } finally {
    for (const stop of stops.reverse())
      await stop().catch((err: unknown) => log(`[bench] while stopping: ${String(err)}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
