/**
 * Starting a LoadGen workflow and reading its progress from a Temporal client (the CLI, tests,
 * scripts). Live progress is the `progress` query (segments done) plus the running segment's
 * last heartbeat details (queries issued and answered, p99 so far), read with describe(): no
 * workflow event is written for it.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import { ScanflowKind, TaskQueues } from '../agents/conventions.js';
import type { Progress } from '../loadgen/run.js';
import {
  loadgenProgressQuery,
  loadgenWorkflow,
  loadgenWorkflowId,
  type LoadgenProgress,
  type LoadgenWorkflowInput,
} from '../workflows/loadgen.js';

export interface LiveLoadgenProgress extends LoadgenProgress {
  /** The running segment's last heartbeat (absent between segments). */
  live?: Progress;
}

export async function startLoadgenWorkflow(
  client: Client,
  input: LoadgenWorkflowInput,
  options: { run: string; taskQueue?: string },
): Promise<WorkflowHandle<typeof loadgenWorkflow>> {
  return await client.workflow.start(loadgenWorkflow, {
    workflowId: loadgenWorkflowId(options.run),
    taskQueue: options.taskQueue ?? TaskQueues.agents,
    args: [input],
    typedSearchAttributes: [{ key: ScanflowKind, value: 'loadgen' }],
  });
}

export async function loadgenProgress(handle: WorkflowHandle): Promise<LiveLoadgenProgress> {
  const [progress, description] = await Promise.all([handle.query(loadgenProgressQuery), handle.describe()]);
  const pending = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'runLoadgenSegment');
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  const live = payload ? defaultPayloadConverter.fromPayload<Progress>(payload as Payload) : undefined;
  return live && live.segment === progress.currentSegment?.index ? { ...progress, live } : progress;
}

/** The Temporal Web UI page of a workflow. */
export function workflowUiLink(uiBase: string, namespace: string, workflowId: string): string {
  return `${uiBase.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
