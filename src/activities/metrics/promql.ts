/**
 * The PromQL the sensors send, built in one place from a label selector and a window, so the
 * query an agent's decision records is exactly the one Prometheus evaluated. Pure.
 *
 * Metric names: the model server's own (src/serving/metrics.ts), cAdvisor's CPU counter as the
 * kubelet exports it on /metrics/cadvisor, and kube-state-metrics' Deployment status.
 */

export const METRIC_NAMES = {
  /** Model server: infer requests answered, labels model, code. */
  requests: 'scanflow_inference_requests_total',
  /** Model server: request latency histogram (seconds), label model. */
  latency: 'scanflow_inference_request_duration_seconds',
  /** cAdvisor (kubelet /metrics/cadvisor): CPU seconds used, labels namespace, pod, container. */
  cpu: 'container_cpu_usage_seconds_total',
  /** kube-state-metrics: ready replicas of a Deployment, labels namespace, deployment. */
  readyReplicas: 'kube_deployment_status_replicas_ready',
} as const;

/** One label matcher: name, operator (=, !=, =~, !~) and a double-quoted value. */
const MATCHER = /^\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\\n]|\\.)*"\s*$/;

/** Splits `a="x",b=~"y|z"` on the commas between matchers (not inside quoted values). */
function splitMatchers(selector: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < selector.length; i++) {
    const ch = selector[i]!;
    if (quoted && ch === '\\') {
      current += ch + (selector[i + 1] ?? '');
      i++;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.filter((p) => p.trim() !== '');
}

export class PromqlInputError extends Error {
  override name = 'PromqlInputError';
}

/**
 * A label selector (the inside of `{…}`): `job="mlperf-online"` or `namespace="scanflow",pod=~"online-.*"`.
 * Refused unless it is a list of well-formed matchers, so a spec cannot splice PromQL into a query.
 */
export function checkSelector(selector: string | undefined, what = 'selector'): string {
  if (selector === undefined || selector.trim() === '') return '';
  if (selector.length > 1000) throw new PromqlInputError(`${what}: at most 1000 characters`);
  const parts = splitMatchers(selector);
  for (const p of parts)
    if (!MATCHER.test(p))
      throw new PromqlInputError(`${what}: expected label matchers like job="online", got ${JSON.stringify(p.trim())}`);
  return parts.map((p) => p.trim()).join(',');
}

/** A PromQL range like 30s, 1m, 5m (whole units). */
export function checkWindow(window: string | undefined, fallback = '1m', what = 'window'): string {
  const w = window ?? fallback;
  if (!/^\d{1,6}(ms|s|m|h|d)$/.test(w))
    throw new PromqlInputError(`${what}: expected a range like "30s" or "5m", got ${JSON.stringify(w)}`);
  return w;
}

const braces = (selector: string, extra?: string) => {
  const all = [selector, extra].filter((s) => s && s.length > 0).join(',');
  return `{${all}}`;
};

/** An identifier for `by (…)`. */
export function checkLabel(label: string | undefined, fallback: string, what = 'label'): string {
  const l = label ?? fallback;
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(l))
    throw new PromqlInputError(`${what}: expected a label name, got ${JSON.stringify(l)}`);
  return l;
}

/**
 * Queries/s per replica: every replica's answered requests per second, by the label naming a
 * replica (`instance` for any scrape, `pod` with Kubernetes service discovery). A replica that is
 * up but served nothing counts as 0 (the `up` series joins it in), so an idle new replica lowers
 * the average as it does for the autoscaler.
 */
export function queriesPerReplicaQueries(selector: string, window: string, replicaLabel = 'instance') {
  const s = checkSelector(selector);
  const w = checkWindow(window);
  const by = checkLabel(replicaLabel, 'instance', 'replicaLabel');
  const perReplica =
    `sum by (${by}) (rate(${METRIC_NAMES.requests}${braces(s)}[${w}]))` +
    ` or on (${by}) (0 * sum by (${by}) (up${braces(s)} == 1))`;
  return { perReplica, average: `avg(${perReplica})` };
}

/** A latency quantile (seconds) from the model server's histogram, over every replica. */
export function latencyQuantileQuery(selector: string, window: string, quantile = 0.99): string {
  const s = checkSelector(selector);
  const w = checkWindow(window);
  if (!(quantile > 0 && quantile < 1))
    throw new PromqlInputError(`quantile: expected a number in (0, 1), got ${quantile}`);
  return `histogram_quantile(${quantile}, sum by (le) (rate(${METRIC_NAMES.latency}_bucket${braces(s)}[${w}])))`;
}

/**
 * CPU per pod from cAdvisor: seconds of CPU per second (cores) over the window, by pod. The
 * containers' series are summed (the pause container left out); a pod that has only its
 * pod-level cgroup series (container="", as the kubelets of the real-node cluster export them:
 * cgroup v1 with containerd) counts by that one. `or` takes the pod-level series only for pods
 * without container series, so nothing is counted twice.
 */
export function cpuPerPodQueries(selector: string, window: string) {
  const s = checkSelector(selector);
  const w = checkWindow(window);
  const containers = braces(s, 'container!="",container!="POD"');
  const pod = braces(s, 'container=""');
  const of = (fn: 'rate' | 'increase') =>
    `sum by (namespace, pod) (${fn}(${METRIC_NAMES.cpu}${containers}[${w}]))` +
    ` or sum by (namespace, pod) (${fn}(${METRIC_NAMES.cpu}${pod}[${w}]))`;
  return { rate: of('rate'), seconds: of('increase') };
}

/** Ready replicas, kube-state-metrics style (where a kube-state-metrics exporter is scraped). */
export function readyReplicasQuery(selector: string): string {
  return `sum by (namespace, deployment) (${METRIC_NAMES.readyReplicas}${braces(checkSelector(selector))})`;
}
