/**
 * The idempotency key of the running activity attempt's registration: the same for every retry
 * of one activity execution (workflow id, run id, activity id), different for anything else, so
 * a retried training activity gets back the version its first attempt registered instead of a
 * second candidate. Outside an activity (benchmarks, tests) there is none.
 */
import { Context } from '@temporalio/activity';

export function activityIdempotencyKey(): string | undefined {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return undefined;
  }
  const { workflowExecution, activityId } = context.info;
  if (!workflowExecution) return undefined;
  return `${workflowExecution.workflowId}/${workflowExecution.runId}/${activityId}`;
}
