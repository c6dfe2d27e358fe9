/**
 * Every autoscaling setting starts alike: before a setting deploys, what the previous one left
 * behind must be gone, or the new autoscaler acts on it before the load starts.
 *
 *   - The previous setting's HPA (its own, or the one KEDA owns): a KEDA HPA not yet collected
 *     scales the new Deployment of the same name (a full run's fixed-KEDA setting once started
 *     at 4 replicas from it).
 *   - The previous setting's load in Prometheus: a rate over 10 s still counts the samples of
 *     pods that are gone for up to 10 s after them (a range selection keeps the samples before a
 *     staleness marker), and KEDA scaled a fresh Deployment to 2 replicas on that phantom load.
 *
 * Each wait is bounded; past it the run goes on and says so (the trace shows the start).
 */
import { AutoscalingV2Api } from '@kubernetes/client-node';
import { PrometheusClient, prometheusSettingsFrom } from '../../../activities/metrics/prometheus.js';
import { METRIC_NAMES } from '../../../activities/metrics/promql.js';
import { loadKubeConfig } from '../../../platform/kubernetes/client.js';
import { waitFor } from '../../../stack/wait.js';
import type { ExperimentEnvironment } from './environment.js';

const WAIT_MS = 90_000;

/** The namespace's HPAs named for the service (its own name, or KEDA's keda-hpa-<name>). */
async function leftoverHpas(api: AutoscalingV2Api, namespace: string, name: string): Promise<string[]> {
  const list = await api.listNamespacedHorizontalPodAutoscaler({ namespace });
  return list.items.map((h) => h.metadata?.name ?? '').filter((n) => n === name || n === `keda-hpa-${name}`);
}

/** The service's answered queries/s in Prometheus now (0 when no series is left). */
async function servedRate(prom: PrometheusClient, selector: string): Promise<number> {
  const r = await prom.instant(`sum(rate(${METRIC_NAMES.requests}{${selector}}[10s]))`);
  return r.series[0]?.value ?? 0;
}

export async function previousSettingGone(
  env: ExperimentEnvironment,
  service: { name: string; selector: string },
  log: (line: string) => void,
): Promise<void> {
  const api = loadKubeConfig(env.kubeconfig).makeApiClient(AutoscalingV2Api);
  // The sensors' client: per-request timeout and retries, so a stuck Prometheus cannot hold a probe
  // past the wait's deadline.
  const prom = new PrometheusClient({ ...prometheusSettingsFrom(process.env), url: env.prometheus.url });
  let hpas: string[] = [];
  await waitFor(
    'the previous setting’s HPA to be gone',
    WAIT_MS,
    async () => (hpas = await leftoverHpas(api, env.namespace, service.name)).length === 0,
    1_000,
  ).catch(() => log(`autoscaling: HPA ${hpas.join(', ')} still there after ${WAIT_MS / 1000} s; deploying anyway`));
  let rate = NaN;
  await waitFor(
    'no load of the previous setting in Prometheus',
    WAIT_MS,
    async () => (rate = await servedRate(prom, service.selector)) === 0,
    1_000,
  ).catch(() =>
    log(
      `autoscaling: Prometheus still shows ${rate.toFixed(1)} queries/s of the service after ${WAIT_MS / 1000} s; deploying anyway`,
    ),
  );
}
