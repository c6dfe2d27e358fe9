/**
 * The tiny workflow a trigger schedule starts at every fire: it decides AND triggers (see
 * agents/trigger-schedule.ts) and signals the agent. Its id is `scanflow.<app>.<agent>.<strategy>.fire-<nominal time>`
 * (the schedule appends the time), so the UI shows every fire next to the agent.
 */
import { getExternalWorkflowHandle, workflowInfo } from '@temporalio/workflow';
import { andVerdict, type TriggerPlan } from '../agents/trigger-schedule.js';
import { triggerSignal } from '../agents/messages.js';

export interface TriggerFireInput {
  agentWorkflowId: string;
  strategy: string;
  and?: TriggerPlan['and'];
}

/** The schedule's nominal time, which the scheduler appends to the workflow id as RFC 3339 (UTC). */
export function nominalFireTime(workflowId: string): number | undefined {
  const match = /-(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)$/.exec(workflowId);
  return match ? Date.parse(match[1] as string) : undefined;
}

export async function agentTriggerWorkflow(input: TriggerFireInput): Promise<string> {
  const nominal = nominalFireTime(workflowInfo().workflowId) ?? Date.now();
  let reason: string | undefined;
  if (input.and) {
    const verdict = andVerdict(input.and, nominal);
    if (!verdict.fire) return `skipped: ${verdict.reason}`;
    reason = verdict.reason;
  }
  try {
    await getExternalWorkflowHandle(input.agentWorkflowId).signal(triggerSignal, {
      strategy: input.strategy,
      firedAt: new Date(nominal).toISOString(),
      ...(reason ? { reason } : {}),
    });
  } catch (err) {
    // The agent was stopped or never started: nothing to trigger; the fire stays visible as this result.
    return `not delivered: ${(err as Error).message}`;
  }
  return `signalled ${input.agentWorkflowId} (strategy ${input.strategy})`;
}
