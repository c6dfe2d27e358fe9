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

/** How often `keepBeating` heartbeats; the SDK sends at most one per 80% of the heartbeat timeout. */
export const KEEP_BEATING_MS = 1000;

/**
 * Runs `work` while heartbeating every `everyMs`, so an activity with a heartbeat timeout is
 * retried soon after its worker dies (instead of after its whole start-to-close timeout), and
 * receives cancellation. Details the activity heartbeats itself are kept: each beat repeats the
 * latest ones (at first those of the previous attempt), so a resumable activity's checkpoint is
 * never overwritten. Outside an activity it just runs `work`.
 */
/** Activity contexts `keepBeating` already beats for. */
const beating = new WeakSet<Context>();

export async function keepBeating<T>(work: () => Promise<T>, everyMs = KEEP_BEATING_MS): Promise<T> {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return await work();
  }
  // Wrapped twice (the agent role's activities, then every role's in workers/roles.ts): one beat is enough.
  if (beating.has(context)) return await work();
  beating.add(context);
  // The SDK's Context calls this.heartbeatFn for every heartbeat; watch it to remember the latest details.
  const hooked = context as unknown as { heartbeatFn: (details?: unknown) => void };
  const send = hooked.heartbeatFn;
  let latest: unknown = context.info.heartbeatDetails;
  hooked.heartbeatFn = (details?: unknown) => {
    latest = details;
    send(details);
  };
  send(latest);
  const timer = setInterval(() => send(latest), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    hooked.heartbeatFn = send;
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
