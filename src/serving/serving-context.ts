/**
 * What the model server's routes share: the served model's name, the slot holding its versions,
 * the batcher, the version switcher, the metrics and the log. One object, so each route file
 * takes exactly the server state it reads and nothing reaches into the ModelServer class.
 */
import type { DynamicBatcher } from './batcher.js';
import type { BodyLimits } from './http-io.js';
import type { RowMeta, RowResult } from './batch-runner.js';
import type { ServingMetrics } from './metrics.js';
import type { ModelSlot } from './model-slot.js';
import { ProtocolError } from './protocol.js';
import type { VersionChoice } from './model-version.js';
import type { SwitchResult, VersionSwitcher } from './version-switcher.js';

export interface ServingContext {
  modelName: string;
  slot: ModelSlot;
  batcher: DynamicBatcher<RowMeta, RowResult>;
  switcher: VersionSwitcher;
  metrics: ServingMetrics;
  /** Several processes (cluster.ts): a switch goes to every one of them, /metrics sums them all. */
  cluster?: ClusterHooks;
  /** Per-request and shared limits on infer bodies (http-io.ts). */
  bodyLimits: BodyLimits;
  /** Bearer token /admin/model requires; without one, only loopback callers may use it (admin-guard.ts). */
  adminToken?: string;
  log(line: string): void;
}

/** The name (and version, when the path gives one) is the model this server serves now. */
export function knownModel(ctx: ServingContext, name: string, version: string | undefined): boolean {
  return name === ctx.modelName && (version === undefined || version === ctx.slot.version);
}

/** 400 naming what is served when the path asks for another model or version. */
export function requireModel(ctx: ServingContext, name: string, version: string | undefined): void {
  if (name !== ctx.modelName)
    throw new ProtocolError(400, `unknown model ${JSON.stringify(name)}: this server serves "${ctx.modelName}"`);
  if (version !== undefined && version !== ctx.slot.version) {
    throw new ProtocolError(
      400,
      `unknown version ${JSON.stringify(version)} of model "${name}": serving ${ctx.slot.version === undefined ? 'no version yet' : `version ${ctx.slot.version}`}`,
    );
  }
}

export interface ClusterHooks {
  switchAll(version: VersionChoice): Promise<SwitchResult>;
  metricsText(): Promise<{ text: string; contentType: string }>;
}
