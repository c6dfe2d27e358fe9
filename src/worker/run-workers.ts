/**
 * Runs one Temporal worker per task-queue role in this process, sharing one connection and
 * one workflow bundle. Resolves when every worker has shut down (SIGINT/SIGTERM make the
 * Temporal runtime drain them gracefully: in-flight activities finish or time out).
 */
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import type { ScanflowConfig } from '../config.js';
import { TaskQueues, taskQueueRoles, type TaskQueueRole } from '../spec/task-queues.js';
import { activitiesFor } from './activities.js';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export function parseRoles(raw: string | undefined): TaskQueueRole[] {
  if (!raw || raw === 'all') return [...taskQueueRoles];
  const roles = raw.split(',').map((r) => r.trim()).filter(Boolean);
  for (const r of roles) {
    if (!taskQueueRoles.includes(r as TaskQueueRole)) {
      throw new Error(`SCANFLOW_WORKER_ROLES: unknown role '${r}' (known: ${taskQueueRoles.join(', ')}, or 'all')`);
    }
  }
  return roles as TaskQueueRole[];
}

export interface RunWorkersOptions {
  config: ScanflowConfig;
  roles: TaskQueueRole[];
  logLevel?: LogLevel;
  /** Called once every worker polls its queue. */
  onReady?: (queues: string[]) => void;
}

let runtimeInstalled = false;

export async function runWorkers(opts: RunWorkersOptions): Promise<void> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger(opts.logLevel ?? 'INFO') });
    runtimeInstalled = true;
  }
  const { config } = opts;
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  try {
    const workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: Runtime.instance().logger });
    const workers = await Promise.all(
      opts.roles.map((role) =>
        Worker.create({
          connection,
          namespace: config.temporal.namespace,
          taskQueue: TaskQueues[role],
          workflowBundle,
          activities: activitiesFor(role, { config, client }),
          // Agents are long-lived: keep the cache bounded so thousands of them fit in memory.
          maxCachedWorkflows: 500,
          // ML activities are CPU-bound: two at a time on a small machine.
          maxConcurrentActivityTaskExecutions: role === 'ml' ? 2 : 50,
        }),
      ),
    );
    opts.onReady?.(opts.roles.map((r) => TaskQueues[r]));
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await clientConnection.close();
    await connection.close();
  }
}
