/**
 * The replicas of one service on this machine, kept at the desired count the way a Kubernetes
 * ReplicaSet and a Deployment's rolling update would: scaling starts or stops processes, a new
 * process spec rolls one replica at a time (the new one ready before the old one stops taking
 * traffic), and a retired replica first drains the requests the router already sent it.
 */
import { isDeepStrictEqual } from 'node:util';
import type { PodPlacement, ReplicaStatus, ServiceSpec } from '../types.js';
import type { Replica } from './replica.js';

export interface ReplicaSetOptions {
  /** Starts one replica of `spec` and resolves once it is ready. */
  start(spec: ServiceSpec): Promise<Replica>;
  /** Longest wait for a retired replica's in-flight requests before it is stopped anyway. */
  drainTimeoutMs: number;
}

export class ReplicaSet {
  replicas: Replica[] = [];
  /** Replicas replaced after their process died. */
  restarts = 0;

  constructor(
    public spec: ServiceSpec,
    /** The workflow's backup service: idle until the router fails over to it. */
    public backup: boolean,
    private readonly options: ReplicaSetOptions,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  /** Replicas that take new requests (a draining one only finishes what it has). */
  get live(): Replica[] {
    return this.replicas.filter((r) => !r.draining);
  }

  /** Takes a new spec: a different process rolls the replicas, anything else only rescales. */
  async apply(spec: ServiceSpec): Promise<void> {
    if (!sameProcess(this.spec, spec)) return this.rollTo(spec);
    this.spec = spec;
    await this.scale();
  }

  /** Starts or stops replicas until the count matches spec.replicas. */
  async scale(): Promise<void> {
    const missing = this.spec.replicas - this.replicas.length;
    if (missing > 0) {
      const started = await Promise.allSettled(Array.from({ length: missing }, () => this.options.start(this.spec)));
      for (const r of started) if (r.status === 'fulfilled') this.replicas.push(r.value);
      // Keep the replicas that did start (they are counted), then report the first failure.
      const failed = started.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    if (missing < 0) {
      const removed = this.replicas.splice(this.spec.replicas);
      await Promise.all(removed.map((r) => this.retire(r)));
    }
  }

  /** Rolling replacement, one replica at a time: start new, ready → route to it → drain and stop old. */
  async rollTo(next: ServiceSpec): Promise<void> {
    const old = [...this.replicas];
    for (let i = 0; i < Math.max(old.length, next.replicas); i += 1) {
      if (i < next.replicas) this.replicas.push(await this.options.start(next));
      const previous = old[i];
      if (previous) {
        this.replicas.splice(this.replicas.indexOf(previous), 1);
        await this.retire(previous);
      }
    }
    this.spec = next;
  }

  /** Like a ReplicaSet: replicas whose process died are replaced, keeping the desired count. */
  async replaceDead(): Promise<void> {
    const gone = this.replicas.filter((r) => !r.draining && !r.alive);
    if (gone.length === 0) return;
    this.replicas = this.replicas.filter((r) => !gone.includes(r));
    this.restarts += gone.length;
    await Promise.all(gone.map((r) => r.stop(0)));
    await this.scale();
  }

  /** Stops every replica (service removed or workflow deleted), each after draining. */
  async retireAll(): Promise<void> {
    await Promise.all(this.replicas.map((r) => this.retire(r)));
  }

  /** The Deployment-status view that the readyReplicas sensor reports. */
  status(): ReplicaStatus {
    const ready = this.live.filter((r) => r.ready).length;
    const updated = this.live.filter((r) => sameProcess(r.spec, this.spec)).length;
    return { service: this.name, desired: this.spec.replicas, ready, available: ready, updated };
  }

  /** One "pod" per replica, all on the one node this machine is. */
  placement(): PodPlacement[] {
    return this.replicas.map((r) => ({
      pod: r.name,
      component: this.name,
      node: 'local',
      phase: r.draining ? 'Terminating' : 'Running',
      ready: r.ready && !r.draining,
      image: r.spec.image,
    }));
  }

  /** No new requests, wait for the router's in-flight ones, then SIGTERM (the server drains its own). */
  private async retire(r: Replica): Promise<void> {
    r.draining = true;
    const deadline = Date.now() + this.options.drainTimeoutMs;
    while (r.inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await r.stop();
  }
}

/** Two specs run the same process (only replicas, autoscaling, affinity or resources differ). */
export function sameProcess(a: ServiceSpec, b: ServiceSpec): boolean {
  const strip = ({ replicas: _r, autoscaling: _a, affinity: _f, resources: _s, ...rest }: ServiceSpec) => rest;
  return isDeepStrictEqual(strip(a), strip(b));
}
