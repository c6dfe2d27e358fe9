/**
 * The online inference workflow of the experiments on the real nodes: the app's spec
 * (workloads.ts) with the project's image, the store mounted at /store, the primary serving model
 * version 1 and the backup version 2 (so an answer names its service), deployed with the platform
 * primitive and waited for; its entry Service's URL.
 */
import type { OnlineWorkflowSpec } from '../../../platform/types.js';
import { MODEL_VERSION_ENV } from '../../../serving/model-version.js';
import { BACKUP_SERVICE, BATCH_REF, MODEL_SERVER_SERVICE, ONLINE_REF } from '../names.js';
import { onlineInferenceWorkflow, type OnlineWorkflowOptions } from '../workloads.js';
import { describeNamespace, mountStore, STORE_MOUNT, waitFor, waitServiceReady } from './cluster-ops.js';
import type { ExperimentEnvironment } from './environment.js';

/** Model version → service, as the load's SUT reads the answers. */
export const SERVICE_OF_VERSION: Record<string, string> = { '1': MODEL_SERVER_SERVICE, '2': BACKUP_SERVICE };

export type OnlineOptions = Omit<OnlineWorkflowOptions, 'store' | 'image'>;

export function onlineSpec(env: ExperimentEnvironment, o: OnlineOptions): OnlineWorkflowSpec {
  const spec = onlineInferenceWorkflow({
    ...o,
    store: { kind: 'local', directory: STORE_MOUNT },
    image: env.image.ref,
  });
  const pin = (s: { env?: Record<string, string> }, version: string) => {
    s.env = { ...s.env, [MODEL_VERSION_ENV]: version };
  };
  for (const s of spec.services) pin(s, '1');
  if (spec.backup) pin(spec.backup, '2');
  // The project's image has several entry points: the model server is `serve`.
  for (const s of [...spec.services, ...(spec.backup ? [spec.backup] : [])]) s.args = ['serve', ...(s.args ?? [])];
  return spec;
}

/** Deploys (or re-deploys) the online workflow and waits until it answers; returns the entry URL. */
export async function deployOnline(env: ExperimentEnvironment, o: OnlineOptions): Promise<string> {
  const spec = onlineSpec(env, o);
  const ref = { app: spec.app, workflow: spec.workflow };
  await env.platform.deployWorkflow(spec);
  const services = [...spec.services, ...(spec.backup ? [spec.backup] : [])];
  for (const s of services) await mountStore(env.kubeconfig, env.namespace, ref, s.name, env.store.directory);
  try {
    await Promise.all(
      services.map((s) => waitServiceReady(env.core, env.namespace, ref, s.name, s.replicas ?? 1, 300_000)),
    );
  } catch (err) {
    throw new Error(`${String(err)}\n${await describeNamespace(env.core, env.namespace)}`);
  }
  const svc = await env.core.readNamespacedService({ name: ref.workflow, namespace: env.namespace });
  const url = `http://${svc.spec?.clusterIP}:${svc.spec?.ports?.[0]?.port ?? 8080}`;
  await waitFor('the entry Service to answer', 60_000, async () => {
    const res = await fetch(`${url}/v2/health/ready`, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  });
  return url;
}

/** The service the entry Service selects now. */
export async function activeService(env: ExperimentEnvironment, workflow = ONLINE_REF.workflow): Promise<string> {
  const svc = await env.core.readNamespacedService({ name: workflow, namespace: env.namespace });
  return svc.spec?.selector?.['scanflow.io/component'] ?? '';
}

export async function removeOnline(env: ExperimentEnvironment, workflow = ONLINE_REF.workflow): Promise<void> {
  await env.platform.deleteWorkflow({ app: ONLINE_REF.app, workflow });
  await waitFor('the online pods to go', 120_000, async () => {
    const list = await env.core.listNamespacedPod({ namespace: env.namespace, labelSelector: `workflow=${workflow}` });
    return list.items.length === 0;
  });
}

export const loadAverage = async (): Promise<string> =>
  (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/**
 * After a failed experiment: its agents stopped (they would act on the next one), the online and
 * batch workflows removed. Best effort, every step on its own.
 */
export async function resetWorkloads(env: ExperimentEnvironment): Promise<void> {
  const { AgentClient } = await import('../../../client/agents.js');
  const agents = new AgentClient(env.client);
  for (const a of await agents.list(ONLINE_REF.app, { runningOnly: true }).catch(() => []))
    await agents
      .get(a.app, a.agent)
      .stop('experiment failed')
      .catch(() => undefined);
  await env.platform.stopWorkflow(BATCH_REF).catch(() => undefined);
  await removeOnline(env).catch(() => undefined);
}
