/**
 * One online workflow on the local platform: its services (each a ReplicaSet), the router that is
 * its entry point, its traffic split, and its health loop. Changes to a workflow run one at a
 * time through `serialised`, so two primitives (or a primitive and the replacement of a dead
 * replica) never interleave their steps on the same replicas.
 */
import { invalidSpec } from '../errors.js';
import { replicaName } from '../names.js';
import type { ServiceSpec, TrafficSpec, WorkflowRef } from '../types.js';
import { validateTraffic } from '../validate.js';
import { HealthLoop } from './health-loop.js';
import type { Replica } from './replica.js';
import { ReplicaSet } from './replica-set.js';
import { Router } from './router.js';

export interface LocalWorkflowOptions {
  /** Starts a replica of `spec` named `name` and resolves once it is ready. */
  startReplica(name: string, spec: ServiceSpec): Promise<Replica>;
  drainTimeoutMs: number;
  healthIntervalMs: number;
  /** Called after every change (successful or not), e.g. to republish scrape targets. */
  afterChange(): Promise<void>;
}

export class LocalWorkflow {
  readonly services = new Map<string, ReplicaSet>();
  readonly router: Router;
  traffic: TrafficSpec = { weights: {} };
  private queue: Promise<unknown> = Promise.resolve();
  /** Replica sequence number: names stay unique across restarts and rollouts. */
  private seq = 0;
  private readonly health: HealthLoop;

  constructor(
    readonly ref: WorkflowRef,
    private readonly options: LocalWorkflowOptions,
  ) {
    this.router = new Router({ replicas: (service) => this.services.get(service)?.replicas ?? [] });
    this.health = new HealthLoop({
      intervalMs: options.healthIntervalMs,
      replicas: () => [...this.services.values()].flatMap((s) => s.live),
      onDead: () =>
        this.serialised(async () => {
          for (const s of this.services.values()) await s.replaceDead();
        }).catch((err: unknown) =>
          console.error(
            `local platform: replacing a dead replica of ${ref.app}/${ref.workflow} failed: ${(err as Error).message}`,
          ),
        ),
    });
  }

  /** Runs `fn` after every change queued before it; a failed change does not block the next. */
  serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn).finally(() => this.options.afterChange());
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The named service, or an InvalidSpec failure listing the known ones. */
  service(name: string): ReplicaSet {
    const s = this.services.get(name);
    if (!s)
      throw invalidSpec(
        `service '${name}' is not part of online workflow ${this.ref.app}/${this.ref.workflow} (known: ${[...this.services.keys()].join(', ')})`,
      );
    return s;
  }

  /** Creates the service or brings it to `spec` (rescale, or roll when the process changes). */
  async applyService(spec: ServiceSpec, backup: boolean): Promise<void> {
    const existing = this.services.get(spec.name);
    if (existing) {
      existing.backup = backup;
      await existing.apply(spec);
      return;
    }
    const s = new ReplicaSet(spec, backup, {
      start: (next) => {
        this.seq += 1;
        return this.options.startReplica(replicaName(this.ref, next.name, this.seq), next);
      },
      drainTimeoutMs: this.options.drainTimeoutMs,
    });
    this.services.set(spec.name, s);
    await s.scale();
  }

  async removeService(name: string): Promise<void> {
    const s = this.services.get(name);
    if (!s) return;
    await s.retireAll();
    this.services.delete(name);
  }

  /** Validates the split against the services and hands it to the router (the backup is its fail-over). */
  setTraffic(traffic: TrafficSpec): void {
    validateTraffic(traffic, [...this.services.keys()]);
    const weights =
      traffic.active !== undefined ? new Map([[traffic.active, 100]]) : new Map(Object.entries(traffic.weights));
    const backup = [...this.services.values()].find((s) => s.backup)?.name;
    this.traffic = traffic;
    this.router.setTraffic(weights, backup);
  }

  /** Stops probing, retires every replica and closes the router. */
  async teardown(): Promise<void> {
    this.health.stop();
    await Promise.all([...this.services.values()].map((s) => s.retireAll()));
    this.services.clear();
    await this.router.close().catch(() => undefined);
  }

  /** Every replica's process id, for the exit handler that must not leave orphans. */
  pids(): number[] {
    return [...this.services.values()].flatMap((s) => s.replicas.map((r) => r.pid));
  }
}
