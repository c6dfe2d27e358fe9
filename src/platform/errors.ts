/**
 * The failure every platform adapter raises for bad input, whatever it runs on: a spec, a
 * reference or an update that retrying cannot fix. It is a non-retryable Temporal
 * ApplicationFailure of type InvalidSpec whose message names the field, so an agent's decision
 * log says what to correct and the activity is not retried in vain.
 *
 * Failures of the platform itself (the Kubernetes API server, a replica process) are classified
 * by each adapter: see kubernetes/api-errors.ts.
 */
import { ApplicationFailure } from '@temporalio/common';

/** ApplicationFailure.type of a spec the platform refuses before acting. */
export const INVALID_SPEC = 'InvalidSpec';

/** Bad input found before anything was changed on the platform. */
export function invalidSpec(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, INVALID_SPEC);
}
