/**
 * A small Prometheus HTTP API client (instant and range queries) for the sensors: every call has
 * a timeout, transient failures are retried inside the call (bounded, with backoff, honouring a
 * 429/503 Retry-After), and whatever is left is classified for Temporal:
 *
 *   bad PromQL or parameters (400 bad_data), an expression that cannot run (422 execution)
 *     → non-retryable `PrometheusBadQuery` (retrying the same query cannot help)
 *   refused / dropped connections, timeouts, 429, 5xx, a body that is not Prometheus JSON
 *     → retryable `PrometheusUnavailable` (Temporal retries the activity)
 */
import { ApplicationFailure } from '@temporalio/common';

export interface PrometheusSettings {
  /** Base URL, e.g. http://127.0.0.1:9090 (SCANFLOW_PROMETHEUS_URL). */
  url: string;
  /** Per-request timeout (SCANFLOW_PROMETHEUS_TIMEOUT_MS, default 5000). */
  timeoutMs: number;
  /** Attempts per call before a transient failure goes to Temporal (default 3). */
  attempts: number;
  /** First backoff between attempts (doubles each time, default 250 ms). */
  backoffMs: number;
}

export const DEFAULT_PROMETHEUS_URL = 'http://127.0.0.1:9090';

/** The sensors' Prometheus from the environment: SCANFLOW_PROMETHEUS_URL, _TIMEOUT_MS, _ATTEMPTS. */
export function prometheusSettingsFrom(env: NodeJS.ProcessEnv): PrometheusSettings {
  const num = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got '${raw}'`);
    return n;
  };
  const url = env.SCANFLOW_PROMETHEUS_URL ?? DEFAULT_PROMETHEUS_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`SCANFLOW_PROMETHEUS_URL must be an http(s) URL, got '${url}'`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new Error(`SCANFLOW_PROMETHEUS_URL must be an http(s) URL, got '${url}'`);
  return {
    url: url.replace(/\/+$/, ''),
    timeoutMs: num('SCANFLOW_PROMETHEUS_TIMEOUT_MS', 5000),
    attempts: num('SCANFLOW_PROMETHEUS_ATTEMPTS', 3),
    backoffMs: 250,
  };
}

export type Labels = Record<string, string>;
/** One sample: [unix seconds, value]; NaN and ±Inf are kept as null (JSON has no NaN). */
export type Sample = [number, number | null];

export interface InstantSeries {
  labels: Labels;
  value: number | null;
}
export interface RangeSeries {
  labels: Labels;
  values: Sample[];
}

export interface InstantResult {
  query: string;
  /** Evaluation time (unix seconds) Prometheus used. */
  time: number;
  resultType: 'vector' | 'scalar' | 'string' | 'matrix';
  series: InstantSeries[];
  warnings?: string[];
  /** HTTP attempts it took (1 when nothing failed). */
  attempts: number;
}

export interface RangeResult {
  query: string;
  start: number;
  end: number;
  step: number;
  series: RangeSeries[];
  warnings?: string[];
  attempts: number;
}

interface ApiBody {
  status: 'success' | 'error';
  data?: { resultType: string; result: unknown };
  errorType?: string;
  error?: string;
  warnings?: string[];
}

function number(text: string): number | null {
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Thrown inside the client: `retryable` says whether another attempt can help. */
class Attempt extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export class PrometheusClient {
  constructor(readonly settings: PrometheusSettings) {}

  async instant(query: string, time?: number): Promise<InstantResult> {
    const params = new URLSearchParams({ query });
    if (time !== undefined) params.set('time', String(time));
    const { body, attempts } = await this.call('/api/v1/query', params, query);
    const data = body.data!;
    const evaluated = time ?? Date.now() / 1000;
    let series: InstantSeries[];
    let at = evaluated;
    switch (data.resultType) {
      case 'vector':
        series = (data.result as Array<{ metric: Labels; value: [number, string] }>).map((r) => {
          at = r.value[0];
          return { labels: r.metric, value: number(r.value[1]) };
        });
        break;
      case 'scalar':
      case 'string': {
        const [t, v] = data.result as [number, string];
        at = t;
        series = [{ labels: {}, value: number(v) }];
        break;
      }
      default:
        throw ApplicationFailure.nonRetryable(
          `PromQL ${JSON.stringify(query)}: an instant query returned a ${data.resultType}; use a range query`,
          'PrometheusBadQuery',
        );
    }
    series.sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));
    return {
      query,
      time: at,
      resultType: data.resultType as InstantResult['resultType'],
      series,
      ...(body.warnings?.length ? { warnings: body.warnings } : {}),
      attempts,
    };
  }

  async range(query: string, start: number, end: number, step: number): Promise<RangeResult> {
    const params = new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) });
    const { body, attempts } = await this.call('/api/v1/query_range', params, query);
    const series = (body.data!.result as Array<{ metric: Labels; values: Array<[number, string]> }>).map((r) => ({
      labels: r.metric,
      values: r.values.map(([t, v]) => [t, number(v)] as Sample),
    }));
    series.sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));
    return {
      query,
      start,
      end,
      step,
      series,
      ...(body.warnings?.length ? { warnings: body.warnings } : {}),
      attempts,
    };
  }

  private async call(
    path: string,
    params: URLSearchParams,
    query: string,
  ): Promise<{ body: ApiBody; attempts: number }> {
    const { attempts: max, backoffMs } = this.settings;
    let last: Attempt | undefined;
    for (let attempt = 1; attempt <= max; attempt++) {
      try {
        return { body: await this.once(path, params), attempts: attempt };
      } catch (err) {
        last = err instanceof Attempt ? err : new Attempt(String(err), true);
        if (!last.retryable) {
          throw ApplicationFailure.nonRetryable(
            `PromQL ${JSON.stringify(query)}: ${last.message}`,
            'PrometheusBadQuery',
          );
        }
        if (attempt < max) await sleep(Math.min(last.retryAfterMs ?? backoffMs * 2 ** (attempt - 1), 5000));
      }
    }
    throw ApplicationFailure.retryable(
      `Prometheus at ${this.settings.url} (${max} attempts): ${last?.message ?? 'failed'}`,
      'PrometheusUnavailable',
    );
  }

  private async once(path: string, params: URLSearchParams): Promise<ApiBody> {
    let res: Response;
    try {
      res = await fetch(`${this.settings.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: params.toString(),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
    } catch (err) {
      const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
      const why =
        e.name === 'TimeoutError'
          ? `no answer within ${this.settings.timeoutMs} ms`
          : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(err));
      throw new Attempt(why, true);
    }
    const text = await res.text().catch(() => '');
    let body: ApiBody | undefined;
    try {
      body = JSON.parse(text) as ApiBody;
    } catch {
      body = undefined;
    }
    if (res.ok && body?.status === 'success' && body.data) return body;
    const detail = body?.error ? `${body.errorType ?? 'error'}: ${body.error}` : text.slice(0, 200) || res.statusText;
    // 400 bad_data (a parse error, bad parameters), 422 execution (cannot evaluate): the query is wrong.
    if (res.status === 400 || res.status === 422) throw new Attempt(`HTTP ${res.status} ${detail}`, false);
    const retryAfter = Number(res.headers.get('retry-after'));
    throw new Attempt(
      `HTTP ${res.status} ${detail}`,
      true,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
    );
  }
}
