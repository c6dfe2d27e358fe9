/**
 * Runs one Temporal worker per task-queue role in this process, sharing one connection and
 * one workflow bundle. SIGINT/SIGTERM make the Temporal runtime drain them gracefully
 * (in-flight activities finish or time out); `shutdown()` does the same from code.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import type { ScanflowConfig } from '../src/config.js';
import { TaskQueues, type TaskQueueRole } from '../src/agents/conventions.js';
import { connectClient, connectWorker, dataConverter } from '../src/temporal/connect.js';
import { createWorkerResources, type WorkerResources } from './roles.js';

/** The bundle's entry module (runtime + apps): the .ts source in a checkout, the compiled .js in a built image. */
export const workflowsPath =
  [
    fileURLToPath(new URL('./workflows.ts', import.meta.url)),
    fileURLToPath(new URL('./workflows.js', import.meta.url)),
  ].find((p) => existsSync(p)) ?? fileURLToPath(new URL('./workflows.ts', import.meta.url));

export interface RunWorkersOptions {
  config: ScanflowConfig;
  roles: TaskQueueRole[];
  logLevel?: LogLevel;
}

export interface RunningWorkers {
  queues: string[];
  resources: WorkerResources;
  /** Client on the same server, for the caller's own use. */
  client: Client;
  /** Resolves when every worker has stopped and resources are released. */
  finished: Promise<void>;
  shutdown(): Promise<void>;
}

let runtimeInstalled = false;

export async function startWorkers(opts: RunWorkersOptions): Promise<RunningWorkers> {
  if (!runtimeInstalled) {
    try {
      Runtime.install({ logger: new DefaultLogger(opts.logLevel ?? 'INFO') });
    } catch {
      // The embedding process (a test) installed its own runtime first: use it.
    }
    runtimeInstalled = true;
  }
  const { config } = opts;
  const connection = await connectWorker(config.temporal);
  const { client, connection: clientConnection } = await connectClient(config.temporal);
  const resources = createWorkerResources(config, client);
  const workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: Runtime.instance().logger });
  const workers = await Promise.all(
    opts.roles.map((role) =>
      Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: TaskQueues[role],
        workflowBundle,
        dataConverter: dataConverter(config.temporal),
        activities: resources.activitiesFor(role),
        // Agents are long-lived: cache them all (about 0.7 MB each) so events do not replay history.
        maxCachedWorkflows: role === 'agents' ? 2000 : 200,
        // ML activities are CPU-bound: a few at a time on a small machine.
        maxConcurrentActivityTaskExecutions: role === 'ml' ? 4 : 50,
      }),
    ),
  );
  const finished = Promise.all(workers.map((w) => w.run())).then(async () => {
    await resources.close();
    await clientConnection.close();
    await connection.close();
  });
  return {
    queues: opts.roles.map((r) => TaskQueues[r]),
    resources,
    client,
    finished,
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await finished;
    },
  };
}

/** Runs the workers until a signal stops them. */
export async function runWorkers(opts: RunWorkersOptions & { onReady?: (queues: string[]) => void }): Promise<void> {
  const running = await startWorkers(opts);
  opts.onReady?.(running.queues);
  await running.finished;
}
