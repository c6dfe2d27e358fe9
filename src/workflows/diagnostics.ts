import { proxyActivities } from '@temporalio/workflow';
import type { createDiagnosticsActivities, DiagnosticsInput, DiagnosticsReport } from '../activities/diagnostics.js';

const { runDiagnostics } = proxyActivities<ReturnType<typeof createDiagnosticsActivities>>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

/** Runs the stack health check on a worker: native TensorFlow + object store. */
export async function diagnosticsWorkflow(input: DiagnosticsInput): Promise<DiagnosticsReport> {
  return await runDiagnostics(input);
}
