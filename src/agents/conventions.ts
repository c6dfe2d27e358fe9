/**
 * The names shared by the agent workflow, its client, the CLI and the workers: workflow and
 * schedule ids, task queues and search attributes. Workflow-safe.
 */
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

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

/**
 * Scanflow's task queues. Workers are stateless and scale per queue: agents are cheap
 * workflow tasks, ML activities want CPU (or a GPU node), Kubernetes activities want
 * credentials for the cluster.
 */
export const TaskQueues = {
  agents: 'scanflow-agents',
  ml: 'scanflow-ml',
  kubernetes: 'scanflow-kubernetes',
  system: 'scanflow-system',
} as const;

export type TaskQueueRole = keyof typeof TaskQueues;
export const taskQueueRoles = Object.keys(TaskQueues) as TaskQueueRole[];

/**
 * Typed search attributes Scanflow puts on its workflows, so an operator can find them:
 *   temporal workflow list -q "ScanflowApp='mnist' AND ScanflowTemplate='checker'"
 * Registered on the server by `scanflow up` and by the test harness.
 */
export const ScanflowApp = defineSearchAttributeKey('ScanflowApp', SearchAttributeType.KEYWORD);
export const ScanflowAgent = defineSearchAttributeKey('ScanflowAgent', SearchAttributeType.KEYWORD);
export const ScanflowTemplate = defineSearchAttributeKey('ScanflowTemplate', SearchAttributeType.KEYWORD);
export const ScanflowState = defineSearchAttributeKey('ScanflowState', SearchAttributeType.KEYWORD);
/** What kind of Scanflow workflow this is: agent, trigger, batch, training, detector, loadgen. */
export const ScanflowKind = defineSearchAttributeKey('ScanflowKind', SearchAttributeType.KEYWORD);

export const scanflowSearchAttributes = [
  ScanflowApp,
  ScanflowAgent,
  ScanflowTemplate,
  ScanflowState,
  ScanflowKind,
] as const;

/**
 * The search attributes of an agent workflow, in one place: the client sets them at start (so a
 * new agent is listed at once) and the agent upserts them whenever its status changes.
 */
export function agentSearchAttributes(
  agent: { app: string; name: string; template: string },
  status: string,
): SearchAttributePair[] {
  return [
    { key: ScanflowKind, value: 'agent' },
    { key: ScanflowApp, value: agent.app },
    { key: ScanflowAgent, value: agent.name },
    { key: ScanflowTemplate, value: agent.template },
    { key: ScanflowState, value: status },
  ];
}

/** `--search-attribute Name=Keyword` flags for `temporal server start-dev`. */
export function searchAttributeFlags(): string[] {
  return scanflowSearchAttributes.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
}
