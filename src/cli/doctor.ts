import type { Client, Connection } from '@temporalio/client';
import { connectClient } from '../temporal/connect.js';
import type { ScanflowConfig } from '../config.js';
import { TaskQueues } from '../agents/conventions.js';

/** Runs diagnosticsWorkflow on the running stack and prints what it found. */
export async function doctor(config: ScanflowConfig): Promise<number> {
  let connection: Connection;
  let client: Client;
  try {
    ({ client, connection } = await connectClient(config.temporal, { connectTimeout: '5s' }));
  } catch (err) {
    console.error(
      `doctor: no Temporal server at ${config.temporal.address} (${(err as Error).message}); start one with 'npm run dev'`,
    );
    return 1;
  }
  try {
    const workflowId = `scanflow.doctor.${Date.now()}`;
    console.log(`doctor: running diagnosticsWorkflow ${workflowId} on ${TaskQueues.system}`);
    const report = await client.workflow.execute('diagnosticsWorkflow', {
      taskQueue: TaskQueues.system,
      workflowId,
      args: [{ key: `diagnostics/${workflowId}.json`, size: 256 }],
      workflowExecutionTimeout: '2 minutes',
    });
    console.log(JSON.stringify(report, null, 2));
    return 0;
  } finally {
    await connection.close();
  }
}
