/**
 * Watches the model server's Deployment through the executor's upgrades and times each rolling
 * update from the API server's own record: when the new template was written (a new generation
 * with another model version), when the first new pod was Ready, and when the rollout was
 * complete (every replica updated and available, no old pod left). Polled (every 250 ms) rather
 * than watched: a missed watch event would lose a figure, a poll only blurs it by its period.
 */
import type { AppsV1Api, CoreV1Api, V1Deployment } from '@kubernetes/client-node';
import { MODEL_VERSION_ENV } from '../../../serving/model-version.js';

export interface Rollout {
  /** The model version the new template serves. */
  version: string;
  generation: number;
  /** ISO times. */
  appliedAt: string;
  firstNewReadyAt?: string;
  completeAt?: string;
  /** Seconds from the write of the new template to the first new pod Ready, and to the end of the rollout. */
  firstReadySeconds?: number;
  completeSeconds?: number;
  /** Ready pods at the lowest point of the rollout (maxUnavailable 0: never below the replicas). */
  minReadyDuring: number;
}

const versionOf = (d: V1Deployment): string =>
  d.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === MODEL_VERSION_ENV)?.value ?? '?';

export class RolloutWatcher {
  readonly rollouts: Rollout[] = [];
  private timer?: NodeJS.Timeout;
  private lastGeneration = 0;
  private lastVersion?: string;
  private busy = false;

  constructor(
    private readonly apps: AppsV1Api,
    private readonly core: CoreV1Api,
    private readonly namespace: string,
    private readonly deployment: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      this.poll()
        .catch(() => undefined)
        .finally(() => (this.busy = false));
    }, 250);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 50));
    await this.poll().catch(() => undefined);
  }

  private async poll(): Promise<void> {
    const d = await this.apps.readNamespacedDeployment({ name: this.deployment, namespace: this.namespace });
    const generation = d.metadata?.generation ?? 0;
    const version = versionOf(d);
    const now = new Date();
    if (this.lastVersion === undefined) {
      this.lastVersion = version;
      this.lastGeneration = generation;
      return;
    }
    if (generation !== this.lastGeneration && version !== this.lastVersion) {
      this.rollouts.push({ version, generation, appliedAt: now.toISOString(), minReadyDuring: Infinity });
      this.log(`[demo]   rolling update of ${this.deployment} to v${version} (generation ${generation}) started`);
    }
    this.lastGeneration = generation;
    this.lastVersion = version;
    const current = this.rollouts.at(-1);
    if (!current || current.completeAt || current.generation !== generation) return;
    const s = d.status ?? {};
    const replicas = d.spec?.replicas ?? 1;
    current.minReadyDuring = Math.min(current.minReadyDuring, s.readyReplicas ?? 0);
    const since = (now.getTime() - Date.parse(current.appliedAt)) / 1000;
    if (!current.firstNewReadyAt && (s.observedGeneration ?? 0) >= generation) {
      // A pod of the new template (its env has the new version) that is Ready.
      const pods = await this.core.listNamespacedPod({
        namespace: this.namespace,
        labelSelector: Object.entries(d.spec?.selector.matchLabels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
      });
      const ready = pods.items.some(
        (p) =>
          p.spec?.containers[0]?.env?.some((e) => e.name === MODEL_VERSION_ENV && e.value === current.version) &&
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      if (ready) {
        current.firstNewReadyAt = now.toISOString();
        current.firstReadySeconds = since;
      }
    }
    if (
      (s.observedGeneration ?? 0) >= generation &&
      s.updatedReplicas === replicas &&
      s.availableReplicas === replicas &&
      s.replicas === replicas
    ) {
      current.completeAt = now.toISOString();
      current.completeSeconds = since;
      current.firstNewReadyAt ??= current.completeAt;
      current.firstReadySeconds ??= since;
      this.log(
        `[demo]   rolling update to v${current.version}: first new pod Ready after ${current.firstReadySeconds.toFixed(1)} s, complete after ${since.toFixed(1)} s, never fewer than ${current.minReadyDuring} Ready pods`,
      );
    }
  }
}
