/**
 * What every activity module shares (ML, knowledge, traffic, …): turning library errors into Temporal failures that
 * say whether a retry can help, and heartbeats that also work when the function is called
 * directly (benchmarks, tests) outside an activity.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { KnowledgeError } from '../knowledge/types.js';
import { InvalidInputError } from '../ml/errors.js';

/** Heartbeats when running inside an activity; a no-op elsewhere. */
export function beat(details?: unknown): void {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return;
  }
  context.heartbeat(details);
}

/**
 * Runs `work`, converting errors: a store/back-end hiccup stays retryable; bad input, a missing
 * version, a corrupt artifact or a refused registry rule become non-retryable failures whose
 * type is the KnowledgeError code (or `InvalidInput` for the ML library's InvalidInputError).
 */
export async function asActivity<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    if (err instanceof KnowledgeError) {
      if (err.code === 'Backend') throw err;
      throw ApplicationFailure.nonRetryable(`${name}: ${err.message}`, err.code);
    }
    if (err instanceof InvalidInputError)
      throw ApplicationFailure.nonRetryable(`${name}: ${err.message}`, 'InvalidInput');
    throw err;
  }
}
