/**
 * What a service is configured to run and what its replicas actually run, as plain env values:
 * the sensor reconciliation compares with the model registry (the model version travels as
 * MODEL_VERSION_ENV). `desired` is the service's spec (the Deployment's pod template, the local
 * platform's spec); `replicas` is each live replica's own env (pods not being deleted, local
 * processes), so a rollout or an in-place switch that stopped half-way shows as mixed values.
 */
import type { WorkflowRef } from './types.js';

export interface ServiceEnvReading {
  service: string;
  /** Plain env of the service's spec (secret references are left out: their values are not read). */
  desired: Record<string, string>;
  /** One entry per live replica, sorted by name. */
  replicas: Array<{ name: string; ready: boolean; env: Record<string, string> }>;
}

/** Implemented by both adapters (KubernetesPlatform, LocalPlatform). */
export interface ServiceEnvReader {
  serviceEnv(ref: WorkflowRef, service: string): Promise<ServiceEnvReading>;
}
