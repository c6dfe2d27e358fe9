/**
 * The MNIST case study as steps on a running Scanflow (a Temporal server with workers whose
 * platform is this machine): bootstrap the models, deploy the model server, start the four
 * agents, replay the drifting stream interval by interval, collect what the agents decided.
 * `npm run demo` drives it on the embedded stack; the integration test on the test harness.
 */
import type { Client } from '@temporalio/client';
import { AgentClient } from '../../client/agents.js';
import { ModelRegistry } from '../../knowledge/model-registry.js';
import type { KnowledgeStore, KnowledgeStoreConfig, ModelVersionRecord } from '../../knowledge/types.js';
import { getBudget, recordTruth, setBudget, type OracleBudget } from '../../activities/ml/label-oracle.js';
import { resolveDataset } from '../../activities/ml/datasets.js';
import { predict } from '../../ml/classifier.js';
import { DriftStream } from '../../ml/drift-stream.js';
import type { LocalPlatform } from '../../platform/local/local-platform.js';
import { MODEL_ADMIN_ANNOTATION, MODEL_SERVER_IMAGE } from '../../serving/service-spec.js';
import type { OnlineWorkflowSpec } from '../../platform/types.js';
import { storeForService } from '../../serving/store-config.js';
import { MODEL_VERSION_ENV } from '../../serving/model-version.js';
import { agentWorkflowId } from '../../agents/conventions.js';
import { TaskQueues } from '../../agents/conventions.js';
import { runTraffic } from '../../traffic/traffic-client.js';
import type { Decision } from '../../agents/messages.js';
import type { MnistBootstrapInput, MnistBootstrapResult } from './workflows/bootstrap.js';
import { mnistAgents } from './agents.js';
import { scheduleCorruptions, scheduleMaxShare, type DemoOptions } from './demo-options.js';
import {
  CLASSIFIER_MODEL,
  HELD_OUT_METRIC,
  MNIST_APP,
  SERVING_REF,
  SERVING_SERVICE,
  trafficBatchKey,
} from './names.js';
import { checkSummaries, promotionRecords, type IntervalRow } from './report.js';

export const AGENT_NAMES = ['tracker', 'checker', 'planner', 'executor'] as const;
export type AgentName = (typeof AGENT_NAMES)[number];

export interface CaseStudyEnv {
  client: Client;
  store: KnowledgeStore;
  /** How the model-server processes open the same store. */
  storeConfig: KnowledgeStoreConfig;
  /** The local platform's replicas (where the entry URL comes from); a subclass for another platform overrides `endpoint`. */
  localPlatform?: LocalPlatform;
  runId: string;
  log?: (line: string) => void;
}

export class MnistCaseStudy {
  readonly agents: AgentClient;
  readonly registry: ModelRegistry;
  readonly decisions = new Map<string, Decision[]>();
  readonly rows: IntervalRow[] = [];
  private stream?: DriftStream;
  private v1?: Awaited<ReturnType<ModelRegistry['loadModel']>>;
  private readonly log: (line: string) => void;

  constructor(
    readonly env: CaseStudyEnv,
    readonly options: DemoOptions,
  ) {
    this.agents = new AgentClient(env.client);
    this.registry = new ModelRegistry(env.store, CLASSIFIER_MODEL);
    this.log = env.log ?? (() => undefined);
  }

  /** Held-out set, baseline V1 and the detector, through mnistBootstrapWorkflow (skips what exists). */
  async bootstrap(
    data: Pick<MnistBootstrapInput, 'trainData' | 'detectorTrainData'> = {},
  ): Promise<MnistBootstrapResult> {
    const input: MnistBootstrapInput = {
      seed: this.options.seed,
      classifierEpochs: this.options.classifierEpochs,
      detectorEpochs: this.options.detectorEpochs,
      heldOut: {
        count: 2000,
        share: scheduleMaxShare(this.options.schedule),
        corruptions: scheduleCorruptions(this.options.schedule),
      },
      ...data,
    };
    const result = await this.env.client.workflow.execute<(i: MnistBootstrapInput) => Promise<MnistBootstrapResult>>(
      'mnistBootstrapWorkflow',
      {
        taskQueue: TaskQueues.ml,
        workflowId: `scanflow.mnist.bootstrap.${this.env.runId}`,
        args: [input],
      },
    );
    await setBudget(this.env.store, this.options.labelBudget);
    return result;
  }

  modelServerSpec(): OnlineWorkflowSpec {
    const { arg, env, secretEnv } = storeForService(this.env.storeConfig);
    return {
      ...SERVING_REF,
      services: [
        {
          name: SERVING_SERVICE,
          image: MODEL_SERVER_IMAGE,
          port: 8080,
          replicas: 1,
          args: [
            '--store',
            arg,
            '--model',
            CLASSIFIER_MODEL,
            '--port',
            '$(PORT)',
            '--log-flush-ms',
            '500',
            '--log-batch',
            '200',
          ],
          env: { ...env, [MODEL_VERSION_ENV]: '1' },
          ...(Object.keys(secretEnv).length ? { secretEnv } : {}),
          readinessPath: '/v2/health/ready',
          annotations: { [MODEL_ADMIN_ANNOTATION]: '/admin/model' },
        },
      ],
    };
  }

  /** deployWorkflow as a platform primitive (an activity), recorded in a workflow history. Returns the entry URL. */
  async deploy(): Promise<string> {
    await this.env.client.workflow.execute('platformOperationWorkflow', {
      taskQueue: TaskQueues.agents,
      workflowId: `scanflow.mnist.deploy.${this.env.runId}`,
      args: [{ primitive: 'deployWorkflow', args: this.modelServerSpec() }],
    });
    return this.endpoint;
  }

  get endpoint(): string {
    if (!this.env.localPlatform) throw new Error('MnistCaseStudy: no local platform to ask for the entry URL');
    return this.env.localPlatform.endpoint(SERVING_REF);
  }

  async startAgents(): Promise<void> {
    for (const spec of mnistAgents(this.options.agents)) {
      // An agent left running by an interrupted earlier run: stop it (removing its schedules) first.
      const previous = this.agents.get(spec.app, spec.name);
      const running = await previous.workflow.describe().then(
        (d) => d.status.name === 'RUNNING',
        () => false,
      );
      if (running) {
        this.log(`[demo] stopping ${previous.workflowId} left over from an earlier run`);
        await previous
          .stop('superseded by a new run')
          .catch(() => previous.workflow.terminate('superseded by a new run'));
      }
      await this.agents.start({ ...spec, decisionLogSize: 200 });
    }
  }

  /** Sends interval `i`'s batch of the drifting stream, waits out the interval, records what happened. */
  async runInterval(i: number): Promise<IntervalRow> {
    const started = Date.now();
    const { options, env } = this;
    this.stream ??= new DriftStream(
      {
        seed: options.seed,
        batchSize: options.predictionsPerInterval,
        schedule: options.schedule,
        source: await resolveDataset(env.store, 'case-study:traffic'),
      },
      0,
    );
    this.v1 ??= await this.registry.loadModel(1);
    const batch = this.stream.batch(i);
    const ids = batch.images.ids ?? [];
    const truth = this.stream.oracle.truthFor(ids);
    // With the pixels: labelling joins a logged sample only if its pixels are the ones sent here.
    await recordTruth(env.store, trafficBatchKey(options.seed, i), ids, truth, batch.images);
    const truthById = new Map(ids.map((id, k) => [id, truth[k]]));
    let correct = 0;
    let answered = 0;
    let sent = false;
    const report = await runTraffic({
      url: this.endpoint,
      model: CLASSIFIER_MODEL,
      source: { next: () => (sent ? undefined : ((sent = true), batch.images)) },
      imagesPerRequest: options.imagesPerRequest,
      maxRequests: Math.ceil(batch.images.count / options.imagesPerRequest),
      concurrency: 4,
      // Spread the batch over most of the interval, as production traffic would arrive.
      ratePerSecond: options.predictionsPerInterval / options.imagesPerRequest / (options.intervalSeconds * 0.8),
      onResult: (r) => {
        if (!r.ok || !r.labels || !r.sampleIds) return;
        r.sampleIds.forEach((id, k) => {
          answered += 1;
          if (r.labels?.[k] === truthById.get(id)) correct += 1;
        });
      },
    });
    const staticPredicted = predict(this.v1, batch.images).predicted;
    const staticCorrect = staticPredicted.reduce((n, p, k) => n + (p === truth[k] ? 1 : 0), 0);
    const wait = options.intervalSeconds * 1000 - (Date.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const fresh = await this.collectDecisions();
    const newChecks = checkSummaries(fresh.checker);
    for (const p of promotionRecords(fresh.planner)) this.log(`[demo]   planner: v${p.version} ${p.reason}`);
    const versions = await this.registry.list();
    const budget = await getBudget(env.store);
    const row: IntervalRow = {
      interval: i + 1,
      share: this.stream.phaseOf(i).share,
      sent: report.images,
      failed: report.failed,
      servedAccuracy: answered ? correct / answered : NaN,
      servedVersions: report.versions,
      staticAccuracy: staticCorrect / batch.images.count,
      labelsUsed: budget.used,
      production: versions.find((v) => v.stage === 'production')?.version ?? null,
      latencyP99Ms: report.latencyMs.p99,
    };
    this.rows.push(row);
    const sum = (key: 'checked' | 'flagged' | 'picked' | 'evaluation' | 'pseudo') =>
      newChecks.reduce((n, c) => n + c[key], 0);
    const held = (v: ModelVersionRecord | undefined) =>
      v ? `v${v.version} ${(100 * (v.metrics[HELD_OUT_METRIC] ?? NaN)).toFixed(1)}%` : '-';
    const production = versions.find((v) => v.stage === 'production');
    const candidate = versions.filter((v) => v.stage === 'candidate').at(-1);
    this.log(
      `[demo] ${String(row.interval).padStart(3)}/${options.intervals} | ${(100 * row.share).toFixed(0).padStart(3)}% drift | ${row.sent} served, ` +
        `${(100 * row.servedAccuracy).toFixed(1)}% right (${Object.entries(row.servedVersions)
          .map(([v, n]) => `v${v}×${n}`)
          .join(' ')}) vs static V1 ${(100 * row.staticAccuracy).toFixed(1)}% | ` +
        `checked ${sum('checked')} flagged ${sum('flagged')} picked ${sum('picked')} eval ${sum('evaluation')}${sum('pseudo') ? ` pseudo ${sum('pseudo')}` : ''} | labels ${budget.used}/${budget.budget} | ` +
        `production ${held(production)}, candidate ${held(candidate)}`,
    );
    return row;
  }

  /** Appends the agents' new decisions (their logs are bounded; this keeps the whole run), reports failed ones, returns the new ones. */
  async collectDecisions(): Promise<Record<AgentName, Decision[]>> {
    const fresh = {} as Record<AgentName, Decision[]>;
    for (const name of AGENT_NAMES) {
      const known = this.decisions.get(name) ?? [];
      const last = known.at(-1)?.seq ?? -1;
      fresh[name] = (await this.agents.get(MNIST_APP, name).decisions(200)).filter((d) => d.seq > last);
      this.decisions.set(name, [...known, ...fresh[name]]);
      for (const d of fresh[name].filter((x) => x.outcome === 'failed'))
        this.log(`[demo]   ! ${name} ${d.strategy ?? '?'} failed: ${d.error ?? 'unknown error'}`);
    }
    return fresh;
  }

  async stopAgents(reason = 'run finished'): Promise<void> {
    await this.collectDecisions();
    for (const name of AGENT_NAMES) await this.agents.get(MNIST_APP, name).stop(reason);
  }

  async versions(): Promise<ModelVersionRecord[]> {
    return this.registry.list();
  }

  budget(): Promise<OracleBudget> {
    return getBudget(this.env.store);
  }

  agentIds(): string[] {
    return AGENT_NAMES.map((name) => agentWorkflowId(MNIST_APP, name));
  }
}
