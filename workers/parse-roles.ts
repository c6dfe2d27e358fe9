import { taskQueueRoles, type TaskQueueRole } from '../src/agents/conventions.js';

/**
 * The task-queue roles a worker process serves, from SCANFLOW_WORKER_ROLES: a comma-separated
 * list of roles, or empty / 'all' for every role. An unknown role is an error naming it and the
 * known ones, so a typo in a Deployment never starts a worker that serves nothing.
 */
export function parseRoles(raw: string | undefined): TaskQueueRole[] {
  if (!raw || raw === 'all') return [...taskQueueRoles];
  const roles = raw
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  for (const r of roles) {
    if (!taskQueueRoles.includes(r as TaskQueueRole)) {
      throw new Error(`SCANFLOW_WORKER_ROLES: unknown role '${r}' (known: ${taskQueueRoles.join(', ')}, or 'all')`);
    }
  }
  return roles as TaskQueueRole[];
}
