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
