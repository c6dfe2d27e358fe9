/**
 * The liveness side of the local platform, what the kubelet and a ReplicaSet do on a cluster:
 * every period, probe each live replica's readiness path (the router sends only to ready ones)
 * and, when a replica's process has died, have it replaced.
 */
import type { Replica } from './replica.js';

export interface HealthLoopOptions {
  intervalMs: number;
  /** The replicas to probe now. */
  replicas(): Replica[];
  /** Called when a probed replica's process is gone; the owner replaces it. */
  onDead(): Promise<void>;
}

export class HealthLoop {
  private readonly timer: NodeJS.Timeout;
  /** A round still waiting on a slow probe: the next tick skips instead of piling up. */
  private checking = false;
  private stopped = false;

  constructor(private readonly options: HealthLoopOptions) {
    this.timer = setInterval(() => void this.round(), options.intervalMs);
    // Probing must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async round(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const replicas = this.options.replicas();
      await Promise.all(replicas.map((r) => r.probe()));
      if (!this.stopped && replicas.some((r) => !r.alive)) await this.options.onDead();
    } finally {
      this.checking = false;
    }
  }
}
