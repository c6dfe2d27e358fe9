/**
 * The online half of the Table IV primitives on one machine: each service replica is a child
 * process on a free port, and each workflow has a local router (its entry point) that splits
 * traffic by weight and fails over to the backup service. This is what `npm run demo` deploys
 * the model server on when there is no cluster.
 *
 * Semantics next to the Kubernetes adapter:
 * - specs are validated by the same rules (src/platform/kubernetes/validate.ts), errors are the
 *   same non-retryable InvalidSpec failures naming the field;
 * - upgrade = rolling replacement: a new replica is started and ready before an old one stops
 *   taking traffic, and an old one is stopped only after its in-flight requests have finished;
 *   a model-version-only change (env SCANFLOW_MODEL_VERSION) on a service annotated with
 *   `scanflow.io/model-admin-path` is applied in place through that admin endpoint instead
 *   (the model server's hot swap: no restart, no dropped request);
 * - affinity and resources have no meaning on one machine: they are recorded (and shown by
 *   podPlacement / the spec) but not enforced; autoscaling min/max are enforced on the replica
 *   count, there is no local autoscaler acting on the threshold;
 * - state lives in this process: if it exits, its replicas are stopped with it (process groups).
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
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
import { invalidSpec } from '../kubernetes/errors.js';
import { checkRef } from '../kubernetes/names.js';
import { validateOnline, validateService, validateTraffic } from '../kubernetes/validate.js';
import { MODEL_ADMIN_ANNOTATION, MODEL_SERVER_IMAGE, MODEL_VERSION_ENV } from '../../serving/service-spec.js';
import type { ScrapeJob } from '../../stack/prometheus-server.js';
import { Replica } from './replica.js';
import { Router } from './router.js';

// The model server's image name (locally: src/serving/main.ts through tsx), its admin annotation
// for in-place version switches, and the env var that carries the version.
export { MODEL_ADMIN_ANNOTATION, MODEL_SERVER_IMAGE, MODEL_VERSION_ENV };

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface LocalPlatformOptions {
  /** Replica logs go to <workDir>/logs/<app>/<workflow>/. */
  workDir: string;
  /** Image → local argv, for services that give no `command` (the model server is mapped by default). */
  images?: Record<string, string[]>;
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
  onScrapeTargets?: (jobs: ScrapeJob[]) => void | Promise<void>;
}

interface LocalService {
  spec: ServiceSpec;
  replicas: Replica[];
  /** Replicas replaced after their process died. */
  restarts: number;
  backup: boolean;
  affinity?: AffinitySpec;
  resources?: ResourceSpec;
}

interface LocalWorkflow {
  ref: WorkflowRef;
  services: Map<string, LocalService>;
  traffic: TrafficSpec;
  router: Router;
  health: NodeJS.Timeout;
  /** Serialises changes to this workflow. */
  queue: Promise<unknown>;
  seq: number;
  checking: boolean;
}

export class LocalPlatform implements OnlinePlatform {
  private readonly workflows = new Map<string, LocalWorkflow>();
  private readonly images: Record<string, string[]>;

  /**
   * Replicas run in their own process groups (so stopping one takes its children too), which
   * also means they would outlive this process: on exit, kill whatever is still running.
   */
  private readonly killOnExit = () => {
    for (const wf of this.workflows.values()) {
      for (const s of wf.services.values()) {
        for (const r of s.replicas) {
          try {
            process.kill(-r.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    }
  };

  constructor(private readonly options: LocalPlatformOptions) {
    process.once('exit', this.killOnExit);
    this.images = {
      [MODEL_SERVER_IMAGE]: [process.execPath, '--import', 'tsx', join(repoRoot, 'src/serving/main.ts')],
      ...options.images,
    };
  }

  /** URL of the workflow's router: where clients send traffic. */
  endpoint(ref: WorkflowRef): string {
    return `http://127.0.0.1:${this.get(ref).router.port}`;
  }

  /** The router's view (weights, replicas, per-service counts, fail-overs), for tests and the demo. */
  routerStatus(ref: WorkflowRef): Record<string, unknown> {
    return this.get(ref).router.status();
  }

  // ------------------------------------------------------------------ deploy / delete

  async deployWorkflow(spec: OnlineWorkflowSpec): Promise<void> {
    validateOnline(spec);
    const existing = this.workflows.get(key(spec));
    if (existing) {
      await this.serialised(existing, async () => {
        const wanted = allServices(spec);
        for (const name of [...existing.services.keys()])
          if (!wanted.some((s) => s.name === name)) await this.removeService(existing, name);
        for (const s of wanted) await this.applyService(existing, s, s === spec.backup);
        this.setTraffic(existing, spec.traffic ?? { active: spec.services[0]!.name });
      });
      return;
    }
    const router = new Router({
      replicas: (service) => this.workflows.get(key(spec))?.services.get(service)?.replicas ?? [],
    });
    const wf: LocalWorkflow = {
      ref: { app: spec.app, workflow: spec.workflow },
      services: new Map(),
      traffic: { active: spec.services[0]!.name },
      router,
      health: setInterval(() => void this.checkHealth(wf), this.options.healthIntervalMs ?? 500),
      queue: Promise.resolve(),
      seq: 0,
      checking: false,
    };
    wf.health.unref();
    this.workflows.set(key(spec), wf);
    try {
      await router.listen(0);
      await this.serialised(wf, async () => {
        await Promise.all(allServices(spec).map((s) => this.applyService(wf, s, s === spec.backup)));
        this.setTraffic(wf, spec.traffic ?? { active: spec.services[0]!.name });
      });
    } catch (err) {
      await this.teardown(wf);
      throw err;
    }
  }

  async deleteWorkflow(ref: WorkflowRef): Promise<void> {
    checkRef(ref);
    const wf = this.workflows.get(key(ref));
    if (!wf) return; // idempotent, like deleting absent Kubernetes objects
    await this.serialised(wf, () => this.teardown(wf));
  }

  /** Stops every workflow (end of a demo or a test). */
  async close(): Promise<void> {
    await Promise.all([...this.workflows.values()].map((wf) => this.serialised(wf, () => this.teardown(wf))));
    process.removeListener('exit', this.killOnExit);
  }

  // ------------------------------------------------------------------ instances and replicas

  async applyWorkflowInstance(ref: WorkflowRef, service: ServiceSpec): Promise<void> {
    validateService(service, 'service');
    const wf = this.get(ref);
    await this.serialised(wf, () => this.applyService(wf, service, wf.services.get(service.name)?.backup ?? false));
  }

  async deleteWorkflowInstance(ref: WorkflowRef, service: string): Promise<void> {
    const wf = this.get(ref);
    await this.serialised(wf, () => this.removeService(wf, service));
  }

  async duplicateWorkflowInstance(ref: WorkflowRef, service: string, replicas: number): Promise<void> {
    if (!Number.isInteger(replicas) || replicas < 0)
      throw invalidSpec(`replicas must be an integer >= 0, got ${replicas}`);
    const wf = this.get(ref);
    await this.serialised(wf, async () => {
      const s = this.service(wf, service);
      const a = s.spec.autoscaling;
      if (a && (replicas < a.minReplicas || replicas > a.maxReplicas)) {
        throw invalidSpec(
          `replicas ${replicas} of service '${service}' is outside its autoscaling range ${a.minReplicas}-${a.maxReplicas}`,
        );
      }
      s.spec = { ...s.spec, replicas };
      await this.scale(wf, s);
    });
  }

  async upgradeOnlineWorkflow(ref: WorkflowRef, service: string, change: ContainerUpgrade): Promise<void> {
    const wf = this.get(ref);
    await this.serialised(wf, async () => {
      const s = this.service(wf, service);
      const next: ServiceSpec = {
        ...s.spec,
        ...(change.image !== undefined ? { image: change.image } : {}),
        ...(change.command !== undefined ? { command: change.command } : {}),
        ...(change.args !== undefined ? { args: change.args } : {}),
        env: { ...s.spec.env, ...change.env },
      };
      validateService(next, `service '${service}'`);
      if (isDeepStrictEqual(next, s.spec)) return; // idempotent: a retried upgrade is a no-op
      if (await this.switchModelInPlace(s, next, change)) return;
      await this.replaceReplicas(wf, s, next);
    });
  }

  async updateOnlineWorkflowAffinity(ref: WorkflowRef, service: string, affinity: AffinitySpec): Promise<void> {
    const wf = this.get(ref);
    await this.serialised(wf, async () => {
      const s = this.service(wf, service);
      s.affinity = affinity;
      s.spec = { ...s.spec, affinity };
    });
  }

  async updateOnlineWorkflowResource(ref: WorkflowRef, service: string, resources: ResourceSpec): Promise<void> {
    const wf = this.get(ref);
    await this.serialised(wf, async () => {
      const s = this.service(wf, service);
      s.resources = resources;
      s.spec = { ...s.spec, resources };
    });
  }

  async updateWorkflowReplica(ref: WorkflowRef, service: string, change: AutoscalingUpdate): Promise<void> {
    const wf = this.get(ref);
    await this.serialised(wf, async () => {
      const s = this.service(wf, service);
      const current = s.spec.autoscaling;
      if (!current)
        throw invalidSpec(`service '${service}' has no autoscaling to update: set spec.autoscaling when deploying it`);
      const next = {
        ...current,
        ...(change.minReplicas !== undefined ? { minReplicas: change.minReplicas } : {}),
        ...(change.maxReplicas !== undefined ? { maxReplicas: change.maxReplicas } : {}),
      };
      if (change.threshold !== undefined) {
        if (!(change.threshold > 0)) throw invalidSpec(`threshold must be > 0, got ${change.threshold}`);
        if (next.kind === 'keda') next.prometheus = { ...next.prometheus, threshold: change.threshold };
        else next.cpuUtilization = change.threshold;
      }
      const spec: ServiceSpec = { ...s.spec, autoscaling: next };
      validateService(spec, `service '${service}'`);
      const replicas = Math.min(next.maxReplicas, Math.max(next.minReplicas, spec.replicas));
      s.spec = { ...spec, replicas };
      await this.scale(wf, s);
    });
  }

  async updateWorkflowTraffic(ref: WorkflowRef, traffic: TrafficSpec): Promise<void> {
    const wf = this.get(ref);
    await this.serialised(wf, async () => this.setTraffic(wf, traffic));
  }

  // ------------------------------------------------------------------ observation

  async readyReplicas(ref: WorkflowRef): Promise<ReplicaStatus[]> {
    const wf = this.get(ref);
    return [...wf.services.values()].map((s) => {
      const live = s.replicas.filter((r) => !r.draining);
      const ready = live.filter((r) => r.ready).length;
      const updated = live.filter((r) => sameProcess(r.spec, s.spec)).length;
      return { service: s.spec.name, desired: s.spec.replicas, ready, available: ready, updated };
    });
  }

  async podPlacement(ref: WorkflowRef): Promise<PodPlacement[]> {
    const wf = this.get(ref);
    return [...wf.services.values()].flatMap((s) =>
      s.replicas.map((r) => ({
        pod: r.name,
        component: s.spec.name,
        node: 'local',
        phase: r.draining ? 'Terminating' : 'Running',
        ready: r.ready && !r.draining,
        image: r.spec.image,
      })),
    );
  }

  // ------------------------------------------------------------------ internals

  private get(ref: WorkflowRef): LocalWorkflow {
    checkRef(ref);
    const wf = this.workflows.get(key(ref));
    if (!wf) throw invalidSpec(`online workflow ${ref.app}/${ref.workflow} is not deployed on the local platform`);
    return wf;
  }

  private service(wf: LocalWorkflow, name: string): LocalService {
    const s = wf.services.get(name);
    if (!s)
      throw invalidSpec(
        `service '${name}' is not part of online workflow ${wf.ref.app}/${wf.ref.workflow} (known: ${[...wf.services.keys()].join(', ')})`,
      );
    return s;
  }

  private serialised<T>(wf: LocalWorkflow, fn: () => Promise<T>): Promise<T> {
    const run = wf.queue.then(fn).finally(() => this.publishScrapeTargets());
    wf.queue = run.catch(() => undefined);
    return run;
  }

  /** Prometheus scrape jobs: one per service (`<app>-<workflow>-<service>`), its live replicas as targets. */
  scrapeJobs(): ScrapeJob[] {
    return [...this.workflows.values()].flatMap((wf) =>
      [...wf.services.values()].map((s) => ({
        job: `${wf.ref.app}-${wf.ref.workflow}-${s.spec.name}`,
        targets: s.replicas.filter((r) => !r.draining).map((r) => `127.0.0.1:${r.port}`),
      })),
    );
  }

  private async publishScrapeTargets(): Promise<void> {
    const publish = this.options.onScrapeTargets;
    if (!publish) return;
    try {
      await publish(this.scrapeJobs());
    } catch (err) {
      // Monitoring must not fail a deployment: report and carry on.
      console.error(`local platform: publishing Prometheus scrape targets failed: ${(err as Error).message}`);
    }
  }

  private setTraffic(wf: LocalWorkflow, traffic: TrafficSpec): void {
    const known = [...wf.services.keys()];
    validateTraffic(traffic, known);
    const weights =
      traffic.active !== undefined ? new Map([[traffic.active, 100]]) : new Map(Object.entries(traffic.weights));
    const backup = [...wf.services.values()].find((s) => s.backup)?.spec.name;
    wf.traffic = traffic;
    wf.router.setTraffic(weights, backup);
  }

  private async applyService(wf: LocalWorkflow, spec: ServiceSpec, backup: boolean): Promise<void> {
    const existing = wf.services.get(spec.name);
    if (!existing) {
      const s: LocalService = { spec, replicas: [], backup, restarts: 0 };
      wf.services.set(spec.name, s);
      await this.scale(wf, s);
      return;
    }
    existing.backup = backup;
    if (sameProcess(existing.spec, spec)) {
      existing.spec = spec;
      await this.scale(wf, existing);
      return;
    }
    await this.replaceReplicas(wf, existing, spec);
  }

  private async removeService(wf: LocalWorkflow, name: string): Promise<void> {
    const s = wf.services.get(name);
    if (!s) return;
    await Promise.all(s.replicas.map((r) => this.retire(r)));
    wf.services.delete(name);
  }

  /** Starts or stops replicas until the count matches spec.replicas. */
  private async scale(wf: LocalWorkflow, s: LocalService): Promise<void> {
    const missing = s.spec.replicas - s.replicas.length;
    if (missing > 0) {
      const started = await Promise.allSettled(Array.from({ length: missing }, () => this.startReplica(wf, s.spec)));
      for (const r of started) if (r.status === 'fulfilled') s.replicas.push(r.value);
      const failed = started.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    if (missing < 0) {
      const removed = s.replicas.splice(s.spec.replicas);
      await Promise.all(removed.map((r) => this.retire(r)));
    }
  }

  /** Rolling replacement, one replica at a time: start new, ready → route to it → drain and stop old. */
  private async replaceReplicas(wf: LocalWorkflow, s: LocalService, next: ServiceSpec): Promise<void> {
    const old = [...s.replicas];
    for (let i = 0; i < Math.max(old.length, next.replicas); i += 1) {
      if (i < next.replicas) s.replicas.push(await this.startReplica(wf, next));
      const previous = old[i];
      if (previous) {
        s.replicas.splice(s.replicas.indexOf(previous), 1);
        await this.retire(previous);
      }
    }
    s.spec = next;
  }

  /** In-place model switch through the server's admin endpoint, when that is all that changes. */
  private async switchModelInPlace(s: LocalService, next: ServiceSpec, change: ContainerUpgrade): Promise<boolean> {
    const adminPath = s.spec.annotations?.[MODEL_ADMIN_ANNOTATION];
    const onlyVersion =
      change.image === undefined &&
      change.command === undefined &&
      change.args === undefined &&
      Object.keys(change.env ?? {}).length === 1 &&
      change.env?.[MODEL_VERSION_ENV] !== undefined;
    if (!adminPath || !onlyVersion) return false;
    const raw = change.env![MODEL_VERSION_ENV]!;
    const version = raw === 'production' ? raw : Number(raw);
    if (version !== 'production' && !(Number.isInteger(version) && version >= 1)) {
      throw invalidSpec(
        `env.${MODEL_VERSION_ENV} must be a positive integer or "production", got ${JSON.stringify(raw)}`,
      );
    }
    for (const r of s.replicas.filter((x) => !x.draining)) {
      const res = await fetch(`${r.url}${adminPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ version }),
        signal: AbortSignal.timeout(120_000),
      });
      const body = (await res.json().catch(() => ({}))) as { error?: string };
      if (!res.ok)
        throw invalidSpec(`replica ${r.name} refused model version ${raw}: ${body.error ?? `HTTP ${res.status}`}`);
      r.spec = next;
    }
    s.spec = next;
    return true;
  }

  private async startReplica(wf: LocalWorkflow, spec: ServiceSpec): Promise<Replica> {
    wf.seq += 1;
    const name = `${wf.ref.workflow}-${spec.name}-${wf.seq}`;
    return Replica.start(
      name,
      { ...spec, env: { ...spec.env } },
      {
        logDir: join(this.options.workDir, 'logs', wf.ref.app, wf.ref.workflow),
        cwd: repoRoot,
        commandFor: (image) => this.images[image] ?? this.images[image.replace(/:[^/]*$/, '')],
        readyTimeoutMs: this.options.readyTimeoutMs,
      },
    );
  }

  /** No new requests, wait for the router's in-flight ones, then SIGTERM (the server drains its own). */
  private async retire(r: Replica): Promise<void> {
    r.draining = true;
    const deadline = Date.now() + (this.options.drainTimeoutMs ?? 30_000);
    while (r.inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await r.stop();
  }

  private async checkHealth(wf: LocalWorkflow): Promise<void> {
    if (wf.checking) return; // the previous round is still waiting on a slow probe
    wf.checking = true;
    try {
      await this.probeAll(wf);
    } finally {
      wf.checking = false;
    }
  }

  private async probeAll(wf: LocalWorkflow): Promise<void> {
    await Promise.all(
      [...wf.services.values()].flatMap((s) => s.replicas.filter((r) => !r.draining).map((r) => r.probe())),
    );
    // Like a ReplicaSet: a replica whose process died is replaced, keeping the desired count.
    const dead = [...wf.services.values()].filter((s) => s.replicas.some((r) => !r.draining && !r.alive));
    if (dead.length === 0 || !this.workflows.has(key(wf.ref))) return;
    await this.serialised(wf, async () => {
      for (const s of dead) {
        const gone = s.replicas.filter((r) => !r.draining && !r.alive);
        if (gone.length === 0) continue;
        s.replicas = s.replicas.filter((r) => !gone.includes(r));
        s.restarts += gone.length;
        await Promise.all(gone.map((r) => r.stop(0)));
        await this.scale(wf, s);
      }
    }).catch((err: unknown) =>
      console.error(
        `local platform: replacing a dead replica of ${wf.ref.app}/${wf.ref.workflow} failed: ${(err as Error).message}`,
      ),
    );
  }

  private async teardown(wf: LocalWorkflow): Promise<void> {
    clearInterval(wf.health);
    await Promise.all([...wf.services.values()].flatMap((s) => s.replicas.map((r) => this.retire(r))));
    wf.services.clear();
    await wf.router.close().catch(() => undefined);
    this.workflows.delete(key(wf.ref));
  }
}

function key(ref: WorkflowRef): string {
  return `${ref.app}/${ref.workflow}`;
}

function allServices(spec: OnlineWorkflowSpec): ServiceSpec[] {
  return [...spec.services, ...(spec.backup ? [spec.backup] : [])];
}

/** Two specs run the same process (only replicas, autoscaling, affinity or resources differ). */
function sameProcess(a: ServiceSpec, b: ServiceSpec): boolean {
  const strip = ({ replicas: _r, autoscaling: _a, affinity: _f, resources: _s, ...rest }: ServiceSpec) => rest;
  return isDeepStrictEqual(strip(a), strip(b));
}
