/**
 * Classifies Kubernetes API failures for Temporal's retry machinery: what retrying cannot fix
 * (invalid object, conflict, missing object, forbidden) becomes a non-retryable
 * ApplicationFailure carrying the API server's own message; throttling, server errors and
 * connection failures stay retryable.
 */
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
  409: 'KubernetesConflict',
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

/** Run a call; map its failure. */
export async function kubeCall<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw kubeFailure(err, action);
  }
}

/** A delete that treats "already gone" as done (idempotent deletes). */
export async function ignoreNotFound<T>(action: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (httpCodeOf(err) === 404) return undefined;
    throw kubeFailure(err, action);
  }
}
