/**
 * Classifies Kubernetes API failures for Temporal's retry machinery: what retrying cannot fix
 * (invalid object, an object that already exists, missing object, forbidden) becomes a
 * non-retryable ApplicationFailure carrying the API server's own message; throttling (429),
 * optimistic-concurrency conflicts (409 Conflict: "the object has been modified"), server errors
 * and dropped or refused connections are retryable.
 *
 * Retryable failures are first retried right here, a few times with jittered backoff (honouring
 * a 429's Retry-After), because every call Scanflow makes is idempotent: server-side applies with
 * force, reads, lists and deletes whose 404 counts as done. A transient fault in the middle of a
 * primitive so costs a second, not an activity retry that redoes the whole primitive; a fault
 * that does not clear is handed to Temporal as a retryable failure.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';

interface StatusBody {
  reason?: string;
  message?: string;
  code?: number;
}

/** ApiException.body may be a parsed Status, or the raw JSON text of one. */
function statusOf(body: unknown): StatusBody {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return { message: body };
    }
  }
  return body && typeof body === 'object' ? (body as StatusBody) : {};
}

const nonRetryable: Record<number, string> = {
  400: 'KubernetesBadRequest',
  401: 'KubernetesUnauthorized',
  403: 'KubernetesForbidden',
  404: 'KubernetesNotFound',
  410: 'KubernetesGone',
  422: 'KubernetesInvalid',
};

export function httpCodeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Turn any error from the client into an ApplicationFailure; `action` says what we tried. */
export function kubeFailure(err: unknown, action: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const code = httpCodeOf(err);
  if (code !== undefined) {
    const status = statusOf((err as { body?: unknown }).body);
    const message = `${action}: ${status.message ?? (err as Error).message} (HTTP ${code}${status.reason ? ` ${status.reason}` : ''})`;
    if (code === 409) {
      // "Operation cannot be fulfilled …: the object has been modified": another writer won a
      // race; doing it again on the current object is the fix. AlreadyExists (and any other
      // 409) is a fact that retrying does not change.
      return status.reason === 'Conflict'
        ? ApplicationFailure.retryable(message, 'KubernetesConflict')
        : ApplicationFailure.nonRetryable(
            message,
            status.reason === 'AlreadyExists' ? 'KubernetesAlreadyExists' : 'KubernetesConflict',
          );
    }
    const type = nonRetryable[code];
    if (type) return ApplicationFailure.nonRetryable(message, type);
    return ApplicationFailure.retryable(message, code === 429 ? 'KubernetesThrottled' : 'KubernetesServerError');
  }
  const cause =
    err instanceof Error
      ? `${err.message}${(err as { cause?: Error }).cause ? `: ${(err as { cause: Error }).cause.message}` : ''}`
      : String(err);
  return ApplicationFailure.retryable(
    `${action}: cannot reach the Kubernetes API server: ${cause}`,
    'KubernetesUnavailable',
  );
}

/** Attempts of one call before a retryable failure goes to Temporal (which retries the activity). */
export const CALL_ATTEMPTS = 4;
const BASE_DELAY_MS = 250;
const MAX_RETRY_AFTER_MS = 10_000;

/** The delay a 429 / 503 asks for (Retry-After in seconds), capped. */
function retryAfterMs(err: unknown): number | undefined {
  const headers = (err as { headers?: Record<string, string | undefined> })?.headers;
  const value = headers?.['retry-after'] ?? headers?.['Retry-After'];
  const seconds = value === undefined ? NaN : Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, MAX_RETRY_AFTER_MS) : undefined;
}

async function withRetries<T>(
  action: string,
  fn: () => Promise<T>,
  onError: (err: unknown) => T | undefined,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const handled = onError(err);
      if (handled !== undefined) return handled;
      const failure = kubeFailure(err, action);
      if (failure.nonRetryable || attempt >= CALL_ATTEMPTS) throw failure;
      const backoff = BASE_DELAY_MS * 2 ** (attempt - 1) * (0.5 + Math.random());
      await sleep(Math.max(retryAfterMs(err) ?? 0, backoff));
    }
  }
}

/** Run a call, retrying transient failures a few times; map its final failure. */
export async function kubeCall<T>(action: string, fn: () => Promise<T>): Promise<T> {
  return withRetries(action, fn, () => undefined);
}

const GONE = Symbol('not found');

/** A call (a delete, an optional read) that treats "not there" as done; retried like kubeCall. */
export async function ignoreNotFound<T>(action: string, fn: () => Promise<T>): Promise<T | undefined> {
  const result = await withRetries<T | typeof GONE>(action, fn, (err) => (httpCodeOf(err) === 404 ? GONE : undefined));
  return result === GONE ? undefined : result;
}
