/**
 * The online half of the Table IV primitives on one machine: each service replica is a child
 * process on a free port, and each workflow has a local router (its entry point) that splits
 * traffic by weight and fails over to the backup service. This is what `npm run demo` deploys
 * the model server on when there is no cluster.
 *
 * Semantics next to the Kubernetes adapter:
 * - specs are checked by the same rules (src/platform/validate.ts) and refused with the same
 *   non-retryable InvalidSpec failures naming the field;
 * - upgrade = rolling replacement (replica-set.ts): a new replica is ready before an old one stops
 *   taking traffic, and an old one stops only after its in-flight requests have finished; a change
 *   that the `inPlaceUpgrade` hook recognises is applied to the running replicas instead (serving
 *   hands in the model server's hot version switch: no restart, no dropped request);
 * - affinity and resources have no meaning on one machine: they are recorded (and shown by
 *   podPlacement / the spec) but not enforced; autoscaling min/max are enforced on the replica
 *   count, there is no local autoscaler acting on the threshold;
 * - state lives in this process: if it exits, its replicas are stopped with it (process groups).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import type { ScrapeJob } from '../../stack/prometheus-server.js';
import { invalidSpec } from '../errors.js';
import { checkRef, workflowKey } from '../names.js';
import type {
  AffinitySpec,
  AutoscalingUpdate,
  ContainerUpgrade,
  OnlinePlatform,
  OnlineWorkflowSpec,
  PodPlacement,
  ReplicaStatus,
  ResourceSpec,
  ServiceSpec,
  TrafficSpec,
  WorkflowRef,
} from '../types.js';
import {
  validateAutoscalingUpdate,
  validateOnline,
  validateReplicaCount,
  validateService,
  validateUpgrade,
  type CheckedUpgrade,
} from '../validate.js';
import type { ServiceEnvReading } from '../service-env.js';
import type { InPlaceUpgrade } from './in-place-upgrade.js';
import { Replica } from './replica.js';
import {
  checkRunnable,
  commandFor,
  imagesFromEnv,
  LOCAL_ALLOW_COMMANDS_ENV,
  secretEnvOf,
  type LocalRunPolicy,
} from './run-policy.js';
import type { ReplicaSet } from './replica-set.js';
import { publishScrapeTargets, scrapeJobsOf, type PublishScrapeTargets } from './scrape-targets.js';
import { LocalWorkflow } from './workflow.js';

/** Replicas run from the repository root, so image commands can name files relative to it. */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface LocalPlatformOptions {
  /** Replica logs go to <workDir>/logs/<app>/<workflow>/. */
  workDir: string;
  /**
   * Image → local argv, for services that give no `command` (tag ignored), e.g. the model
   * server's image → `node --import tsx src/serving/main.ts` (src/serving/local-model-server.ts).
   */
  images?: Record<string, string[]>;
  /**
   * Run a spec's own `command` on this host (default: SCANFLOW_LOCAL_ALLOW_COMMANDS=1, else no).
   * Anyone who can start a workflow writes specs: leave it off outside development.
   */
  allowCommands?: boolean;
  /** Secrets a spec's `secretEnv` may reference: Secret name → key → value (e.g. the S3 keys). */
  secrets?: Record<string, Record<string, string>>;
  /** Upgrades the running replicas can take without a restart (the model server's version switch). */
  inPlaceUpgrade?: InPlaceUpgrade;
  /** Health-check period of every replica (default 500 ms). */
  healthIntervalMs?: number;
  /** Longest wait for a replica to become ready (default 60 s). */
  readyTimeoutMs?: number;
  /** Longest wait for a removed replica's in-flight requests before it is stopped anyway (default 30 s). */
  drainTimeoutMs?: number;
  /**
   * Called with the Prometheus scrape jobs (one per service, its replicas as targets) after every
   * change, e.g. `(jobs) => prometheus.setScrapeJobs(jobs)` from src/stack/prometheus-server.ts.
   */
  onScrapeTargets?: PublishScrapeTargets;
}

export class LocalPlatform implements OnlinePlatform {
  private readonly workflows = new Map<string, LocalWorkflow>();

  /**
   * Replicas run in their own process groups (so stopping one takes its children too), which
   * also means they would outlive this process: on exit, kill whatever is still running.
   */
  private readonly killOnExit = () => {
    for (const pid of [...this.workflows.values()].flatMap((wf) => wf.pids())) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  private readonly policy: LocalRunPolicy;

  constructor(private readonly options: LocalPlatformOptions) {
    this.policy = {
      images: { ...imagesFromEnv(), ...options.images },
      allowCommands: options.allowCommands ?? process.env[LOCAL_ALLOW_COMMANDS_ENV] === '1',
      secrets: { ...options.secrets },
    };
    process.once('exit', this.killOnExit);
  }

  /** URL of the workflow's router: where clients send traffic. */
  endpoint(ref: WorkflowRef): string {
    return `http://127.0.0.1:${this.get(ref).router.port}`;
  }

  /** The router's view (weights, replicas, per-service counts, fail-overs), for tests and the demo. */
  routerStatus(ref: WorkflowRef): Record<string, unknown> {
    return this.get(ref).router.status();
  }

  /** Prometheus scrape jobs: one per service (`<app>-<workflow>-<service>`), its live replicas as targets. */
  scrapeJobs(): ScrapeJob[] {
    return scrapeJobsOf(this.workflows.values());
  }

  // ------------------------------------------------------------------ deploy / delete

  async deployWorkflow(spec: OnlineWorkflowSpec): Promise<void> {
    validateOnline(spec);
    const services = [...spec.services, ...(spec.backup ? [spec.backup] : [])];
    services.forEach((s, i) => checkRunnable(this.policy, s, `services[${i}]`));
    const traffic = spec.traffic ?? { active: spec.services[0]!.name };
    const existing = this.workflows.get(workflowKey(spec));
    if (existing) {
      // A redeploy: remove what the spec dropped, bring the rest to the spec.
      await existing.serialised(async () => {
        for (const name of [...existing.services.keys()])
          if (!services.some((s) => s.name === name)) await existing.removeService(name);
        for (const s of services) await existing.applyService(s, s === spec.backup);
        existing.setTraffic(traffic);
      });
      return;
    }
    const wf = this.newWorkflow({ app: spec.app, workflow: spec.workflow });
    try {
      await wf.router.listen(0);
      await wf.serialised(async () => {
        await Promise.all(services.map((s) => wf.applyService(s, s === spec.backup)));
        wf.setTraffic(traffic);
      });
    } catch (err) {
      await this.teardown(wf);
      throw err;
    }
  }

  async deleteWorkflow(ref: WorkflowRef): Promise<void> {
    checkRef(ref);
    const wf = this.workflows.get(workflowKey(ref));
    if (!wf) return; // idempotent, like deleting absent Kubernetes objects
    await wf.serialised(() => this.teardown(wf));
  }

  /** Stops every workflow (end of a demo or a test). */
  async close(): Promise<void> {
    await Promise.all([...this.workflows.values()].map((wf) => wf.serialised(() => this.teardown(wf))));
    process.removeListener('exit', this.killOnExit);
  }

  // ------------------------------------------------------------------ instances and replicas

  async applyWorkflowInstance(ref: WorkflowRef, service: ServiceSpec): Promise<void> {
    validateService(service, 'service');
    checkRunnable(this.policy, service, 'service');
    const wf = this.get(ref);
    await wf.serialised(() => wf.applyService(service, wf.services.get(service.name)?.backup ?? false));
  }

  async deleteWorkflowInstance(ref: WorkflowRef, service: string): Promise<void> {
    const wf = this.get(ref);
    await wf.serialised(() => wf.removeService(service));
  }

  async duplicateWorkflowInstance(ref: WorkflowRef, service: string, replicas: number): Promise<void> {
    validateReplicaCount(replicas);
    const wf = this.get(ref);
    await wf.serialised(async () => {
      const s = wf.service(service);
      const a = s.spec.autoscaling;
      if (a && (replicas < a.minReplicas || replicas > a.maxReplicas)) {
        throw invalidSpec(
          `replicas ${replicas} of service '${service}' is outside its autoscaling range ${a.minReplicas}-${a.maxReplicas}`,
        );
      }
      s.spec = { ...s.spec, replicas };
      await s.scale();
    });
  }

  async upgradeOnlineWorkflow(ref: WorkflowRef, service: string, change: ContainerUpgrade): Promise<void> {
    const checked = validateUpgrade(change);
    const wf = this.get(ref);
    await wf.serialised(async () => {
      const s = wf.service(service);
      const next: ServiceSpec = {
        ...s.spec,
        ...(checked.image !== undefined ? { image: checked.image } : {}),
        ...(checked.command !== undefined ? { command: checked.command } : {}),
        ...(checked.args !== undefined ? { args: checked.args } : {}),
        env: { ...s.spec.env, ...checked.env },
      };
      validateService(next, `service '${service}'`);
      checkRunnable(this.policy, next, `service '${service}'`);
      if (isDeepStrictEqual(next, s.spec)) return; // idempotent: a retried upgrade is a no-op
      if (await this.upgradeInPlace(s, next, checked)) return;
      await s.rollTo(next);
    });
  }

  async updateOnlineWorkflowAffinity(ref: WorkflowRef, service: string, affinity: AffinitySpec): Promise<void> {
    const wf = this.get(ref);
    await wf.serialised(async () => {
      const s = wf.service(service);
      s.spec = { ...s.spec, affinity };
    });
  }

  async updateOnlineWorkflowResource(ref: WorkflowRef, service: string, resources: ResourceSpec): Promise<void> {
    const wf = this.get(ref);
    await wf.serialised(async () => {
      const s = wf.service(service);
      s.spec = { ...s.spec, resources };
    });
  }

  async updateWorkflowReplica(ref: WorkflowRef, service: string, change: AutoscalingUpdate): Promise<void> {
    validateAutoscalingUpdate(change);
    const wf = this.get(ref);
    await wf.serialised(async () => {
      const s = wf.service(service);
      const current = s.spec.autoscaling;
      if (!current)
        throw invalidSpec(`service '${service}' has no autoscaling to update: set spec.autoscaling when deploying it`);
      const next = {
        ...current,
        ...(change.minReplicas !== undefined ? { minReplicas: change.minReplicas } : {}),
        ...(change.maxReplicas !== undefined ? { maxReplicas: change.maxReplicas } : {}),
      };
      if (change.threshold !== undefined) {
        if (next.kind === 'keda') next.prometheus = { ...next.prometheus, threshold: change.threshold };
        else next.cpuUtilization = change.threshold;
      }
      const spec: ServiceSpec = { ...s.spec, autoscaling: next };
      validateService(spec, `service '${service}'`);
      // No local autoscaler acts on the threshold: min/max only clamp the current count.
      const replicas = Math.min(next.maxReplicas, Math.max(next.minReplicas, spec.replicas));
      s.spec = { ...spec, replicas };
      await s.scale();
    });
  }

  async updateWorkflowTraffic(ref: WorkflowRef, traffic: TrafficSpec): Promise<void> {
    const wf = this.get(ref);
    await wf.serialised(async () => wf.setTraffic(traffic));
  }

  // ------------------------------------------------------------------ observation

  async readyReplicas(ref: WorkflowRef): Promise<ReplicaStatus[]> {
    return [...this.get(ref).services.values()].map((s) => s.status());
  }

  async podPlacement(ref: WorkflowRef): Promise<PodPlacement[]> {
    return [...this.get(ref).services.values()].flatMap((s) => s.placement());
  }

  /** Not a Table IV primitive: the reconciliation sensor (service-env.ts); a replica's spec is what it runs. */
  async serviceEnv(ref: WorkflowRef, service: string): Promise<ServiceEnvReading> {
    const s = this.get(ref).service(service);
    return {
      service,
      desired: { ...s.spec.env },
      replicas: s.live
        .map((r) => ({ name: r.name, ready: r.ready, env: { ...r.spec.env } }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    };
  }

  // ------------------------------------------------------------------ internals

  private get(ref: WorkflowRef): LocalWorkflow {
    checkRef(ref);
    const wf = this.workflows.get(workflowKey(ref));
    if (!wf) throw invalidSpec(`online workflow ${ref.app}/${ref.workflow} is not deployed on the local platform`);
    return wf;
  }

  private newWorkflow(ref: WorkflowRef): LocalWorkflow {
    const wf = new LocalWorkflow(ref, {
      startReplica: (name, spec) => {
        // Checked again here: no path starts a process the policy refuses.
        checkRunnable(this.policy, spec, `service '${spec.name}'`);
        return Replica.start(name, spec, {
          secretEnv: secretEnvOf(this.policy, spec),
          logDir: join(this.options.workDir, 'logs', ref.app, ref.workflow),
          cwd: repoRoot,
          commandFor: (image) => commandFor(this.policy, image),
          readyTimeoutMs: this.options.readyTimeoutMs,
        });
      },
      drainTimeoutMs: this.options.drainTimeoutMs ?? 30_000,
      healthIntervalMs: this.options.healthIntervalMs ?? 500,
      afterChange: () => publishScrapeTargets(this.options.onScrapeTargets, this.scrapeJobs()),
    });
    this.workflows.set(workflowKey(ref), wf);
    return wf;
  }

  private async teardown(wf: LocalWorkflow): Promise<void> {
    await wf.teardown();
    this.workflows.delete(workflowKey(wf.ref));
  }

  /**
   * Applies the upgrade to the running replicas when the hook knows how (e.g. a model-version
   * switch); false when the replicas must be rolled instead.
   */
  private async upgradeInPlace(s: ReplicaSet, next: ServiceSpec, change: CheckedUpgrade): Promise<boolean> {
    let plan;
    try {
      plan = this.options.inPlaceUpgrade?.plan(s.spec, change);
    } catch (err) {
      throw invalidSpec((err as Error).message);
    }
    if (!plan) return false;
    for (const r of s.live) {
      let refused: string | undefined;
      try {
        ({ refused } = await plan.apply(r.url));
      } catch (err) {
        // Retryable (a plain Error): the replica died or is restarting; say which and where.
        const cause = (err as { cause?: Error }).cause?.message;
        throw new Error(
          `replica ${r.name} (${r.url}) could not be reached to apply ${plan.description}: ${(err as Error).message}${cause ? ` (${cause})` : ''}`,
          { cause: err },
        );
      }
      if (refused !== undefined) throw invalidSpec(`replica ${r.name} refused ${plan.description}: ${refused}`);
      r.spec = next;
    }
    s.spec = next;
    return true;
  }
}
