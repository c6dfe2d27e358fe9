/**
 * Registry ↔ served-version reconciliation. The executor promotes a version in the registry and
 * then upgrades the serving workflow; when the upgrade fails for good (the platform refused the
 * object, the replica died mid-switch and the retries ran out), the registry says N while the
 * service runs N-1, and nothing else would ever notice. Two activities for an agent strategy:
 *
 *   servingDrift          (sensor)  the registry's production version against what the service is
 *                                   set to run and what each replica runs;
 *   reconcileServedModel  (action)  upgrades the service to the registry's production version when
 *                                   they differ; idempotent (reads again, does nothing when in sync
 *                                   or while a rollout to the right version is under way).
 *
 * The registry is the source of truth: a promotion is a decision taken with evidence, the served
 * version is its effect. So a service ahead of the registry (the reverse case: a version served
 * that was never promoted, or was rolled back in the registry) is brought back to production too.
 * Every decision that acts (or fails) is also written to the knowledge base under
 * `serving/reconcile/<model>/`, beside the agent's own decision log.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ModelRegistry } from '../../knowledge/model-registry.js';
import type { KnowledgeStore } from '../../knowledge/types.js';
import type { ServiceEnvReader, ServiceEnvReading } from '../../platform/service-env.js';
import type { OnlinePlatform, WorkflowRef } from '../../platform/types.js';
import { MODEL_VERSION_ENV } from '../../serving/model-version.js';

export interface ServingTarget {
  /** Registry model name, e.g. mnist-classifier. */
  model: string;
  ref: WorkflowRef;
  service: string;
}

export type DriftState = 'in-sync' | 'drifted' | 'rolling' | 'no-production';

export interface ServingDrift {
  model: string;
  service: string;
  /** The registry's production version (null: nothing promoted yet). */
  production: number | null;
  /** The version the service is set to run (its spec's MODEL_VERSION_ENV; null when unset). */
  desired: string | null;
  /** The version each live replica runs. */
  replicas: Array<string | null>;
  state: DriftState;
  /** True when reconcileServedModel would act now: the spec names another version. */
  drifted: boolean;
  reason: string;
}

export interface ReconcileDecision extends ServingDrift {
  at: string;
  action: 'none' | 'upgraded' | 'waiting' | 'failed';
  error?: string;
}

export function servingDriftOf(
  target: ServingTarget,
  production: number | null,
  reading: ServiceEnvReading,
): ServingDrift {
  const desired = reading.desired[MODEL_VERSION_ENV] ?? null;
  const replicas = reading.replicas.map((r) => r.env[MODEL_VERSION_ENV] ?? null);
  const base = { model: target.model, service: target.service, production, desired, replicas };
  const where = `service ${target.ref.app}/${target.ref.workflow}/${target.service}`;
  if (production === null)
    return { ...base, state: 'no-production', drifted: false, reason: `${target.model} has no production version` };
  const want = String(production);
  // A service told to serve "production" resolves it when a replica starts: rolling it to the
  // number it already serves would restart every pod for nothing. Only a named version can drift.
  if (desired === 'production')
    return {
      ...base,
      state: 'in-sync',
      drifted: false,
      reason: `${where} serves the registry's production version (${want} now) as of each replica's start`,
    };
  if (desired !== want)
    return {
      ...base,
      state: 'drifted',
      drifted: true,
      reason: `the registry's production ${target.model} is version ${want}, ${where} is set to run ${desired ?? 'no version'}`,
    };
  const behind = replicas.filter((v) => v !== want).length;
  if (behind > 0)
    return {
      ...base,
      state: 'rolling',
      drifted: false,
      reason: `${where} is set to version ${want}; ${behind} of ${replicas.length} replicas still run another`,
    };
  return { ...base, state: 'in-sync', drifted: false, reason: `${where} runs production version ${want}` };
}

export interface ServingReconcileDeps {
  store: KnowledgeStore;
  platform: ServiceEnvReader & Pick<OnlinePlatform, 'upgradeOnlineWorkflow'>;
}

function checkTarget(target: ServingTarget): void {
  const ok =
    target &&
    typeof target.model === 'string' &&
    target.model !== '' &&
    typeof target.service === 'string' &&
    typeof target.ref?.app === 'string' &&
    typeof target.ref?.workflow === 'string';
  if (!ok)
    throw ApplicationFailure.nonRetryable(
      `serving reconciliation needs { model, ref: { app, workflow }, service }, got ${JSON.stringify(target)}`,
      'InvalidInput',
    );
}

export function createServingReconcileActivities(deps: ServingReconcileDeps) {
  const { store, platform } = deps;

  async function drift(target: ServingTarget): Promise<ServingDrift> {
    checkTarget(target);
    const production = (await new ModelRegistry(store, target.model).production())?.version ?? null;
    return servingDriftOf(target, production, await platform.serviceEnv(target.ref, target.service));
  }

  async function record(decision: ReconcileDecision): Promise<void> {
    const stamp = decision.at.replace(/[:.]/g, '-');
    await store.putJson(`serving/reconcile/${decision.model}/${stamp}-${decision.service}.json`, decision);
  }

  return {
    async servingDrift(target: ServingTarget): Promise<ServingDrift> {
      return drift(target);
    },

    async reconcileServedModel(target: ServingTarget): Promise<ReconcileDecision> {
      const now = await drift(target);
      const at = new Date().toISOString();
      if (!now.drifted) return { ...now, at, action: now.state === 'rolling' ? 'waiting' : 'none' };
      try {
        await platform.upgradeOnlineWorkflow(target.ref, target.service, {
          env: { [MODEL_VERSION_ENV]: String(now.production) },
        });
      } catch (err) {
        const failed: ReconcileDecision = { ...now, at, action: 'failed', error: (err as Error).message };
        await record(failed);
        // The platform's classification stands (a refused object is non-retryable): the next
        // evaluation of the strategy tries again.
        throw err;
      }
      const decision: ReconcileDecision = { ...now, at, action: 'upgraded' };
      await record(decision);
      return decision;
    },
  };
}

export type ServingReconcileActivities = ReturnType<typeof createServingReconcileActivities>;
