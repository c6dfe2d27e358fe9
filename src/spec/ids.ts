/**
 * Identity conventions an operator can guess:
 *   agent workflow id      scanflow.<app>.<agent>
 *   trigger schedule id    scanflow.<app>.<agent>.<strategy>
 *   trigger workflow ids   scanflow.<app>.<agent>.<strategy>.fire-<nominal time> (the suffix is added by the schedule)
 * Names are lower-case words (a-z, 0-9, '_' and '-') so ids never contain a stray dot.
 */
export const DEFAULT_AGENT_TASK_QUEUE = 'scanflow-agents';
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function agentWorkflowId(app: string, agent: string): string {
  return `scanflow.${app}.${agent}`;
}

export function triggerScheduleId(app: string, agent: string, strategy: string): string {
  return `scanflow.${app}.${agent}.${strategy}`;
}

export function triggerWorkflowIdPrefix(app: string, agent: string, strategy: string): string {
  return `${triggerScheduleId(app, agent, strategy)}.fire`;
}
