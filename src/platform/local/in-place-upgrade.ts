/**
 * How a running replica can take an upgrade without being restarted. The local platform knows
 * processes, not what runs in them, so this knowledge is handed to it by whoever owns the process
 * (the model server's hot version switch comes from src/serving/local-model-server.ts). Without
 * one, every upgrade is a rolling replacement, which is always correct, only slower.
 */
import type { ServiceSpec } from '../types.js';
import type { CheckedUpgrade } from '../validate.js';

/** One upgrade, ready to be applied replica by replica. */
export interface InPlaceUpgradePlan {
  /** What it changes, for messages: "model version 3". */
  readonly description: string;
  /**
   * Applies the upgrade to one running replica (reached at `url`, e.g. http://127.0.0.1:41234).
   * Resolves with the replica's refusal when it answered but would not take it (the platform
   * reports that as a bad spec); throws when the replica could not be reached (retryable).
   */
  apply(url: string): Promise<{ refused?: string }>;
}

export interface InPlaceUpgrade {
  /**
   * A plan when `change` to the running `service` can be applied in place, undefined when the
   * replicas must be replaced. Throws (with a message naming the field) when the change is meant
   * for it but carries a bad value; the platform turns that into an InvalidSpec failure.
   */
  plan(service: ServiceSpec, change: CheckedUpgrade): InPlaceUpgradePlan | undefined;
}
