/**
 * What every activity module shares (ML, knowledge, traffic, …): turning library errors into Temporal failures that
 * say whether a retry can help, and heartbeats that also work when the function is called
 * directly (benchmarks, tests) outside an activity.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { KnowledgeError } from '../knowledge/types.js';
import { InvalidInputError } from '../ml/errors.js';

/**
 * The details each running activity last heartbeated through `beat`, so `keepBeating` can repeat
 * them (a resumable activity's checkpoint is never overwritten by a bare beat). Every heartbeat in
 * src/ goes through `beat` (an ESLint rule forbids calling the SDK's heartbeat directly), which is
 * what lets this work with the SDK's public API only.
 */
const latestDetails = new WeakMap<Context, { details: unknown }>();

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Heartbeats when running inside an activity; a no-op elsewhere. */
export function beat(details?: unknown): void {
  const context = currentContext();
  if (!context) return;
  latestDetails.set(context, { details });
  context.heartbeat(details);
}

/** How often `keepBeating` heartbeats; the SDK sends at most one per 80% of the heartbeat timeout. */
export const KEEP_BEATING_MS = 1000;

/** Activity contexts `keepBeating` already beats for. */
const beating = new WeakSet<Context>();

/**
 * Runs `work` while heartbeating every `everyMs`, so an activity with a heartbeat timeout is
 * retried soon after its worker dies (instead of after its whole start-to-close timeout), and
 * receives cancellation. Details the activity heartbeats itself (with `beat`) are kept: each beat
 * repeats the latest ones (at first those of the previous attempt). Outside an activity it just
 * runs `work`.
 */
export async function keepBeating<T>(work: () => Promise<T>, everyMs = KEEP_BEATING_MS): Promise<T> {
  const context = currentContext();
  if (!context) return await work();
  // Wrapped twice (the agent role's activities, then every role's in workers/roles.ts): one beat is enough.
  if (beating.has(context)) return await work();
  beating.add(context);
  const latest = (): unknown => (latestDetails.get(context) ?? { details: context.info.heartbeatDetails }).details;
  // A first beat at once only restores a previous attempt's details: with none, it would put an
  // empty heartbeat ahead of the activity's own first one, which the SDK's throttle then holds back.
  if (context.info.heartbeatDetails !== undefined) context.heartbeat(latest());
  const timer = setInterval(() => context.heartbeat(latest()), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    beating.delete(context);
  }
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
