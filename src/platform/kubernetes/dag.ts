/**
 * Follows a batch run: creates each executor's Job once its dependencies succeeded (so
 * independent branches run in parallel), reads Job and pod status, and reports step phases.
 * Stateless between polls: everything is read back from the cluster, so a retried activity
 * re-attaches to the Jobs an earlier attempt created.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { BatchRunStatus, BatchWorkflowSpec, StepStatus } from '../types.js';
import { jobName } from '../names.js';

export interface Observed {
  jobs: Map<string, V1Job>;
  pods: V1Pod[];
}

const iso = (d: Date | string | undefined): string | undefined =>
  d === undefined ? undefined : new Date(d).toISOString();

/** The phase of one step from its Job's conditions; failures carry the container's reason. */
export function stepStatus(spec: BatchWorkflowSpec, runId: string, executor: string, observed: Observed): StepStatus {
  const name = jobName(spec, runId, executor);
  const job = observed.jobs.get(name);
  if (!job) return { executor, job: name, phase: 'Pending' };
  const cond = (type: string) => job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
  const base = { executor, job: name, startedAt: iso(job.status?.startTime) };
  const complete = cond('Complete');
  if (complete)
    return { ...base, phase: 'Succeeded', finishedAt: iso(job.status?.completionTime ?? complete.lastTransitionTime) };
  const failed = cond('Failed') ?? cond('FailureTarget');
  if (failed) {
    const terminated = observed.pods
      .filter((p) => p.metadata?.labels?.['job-name'] === name)
      .flatMap((p) => p.status?.containerStatuses ?? [])
      .map((c) => c.state?.terminated)
      .find((t) => t !== undefined && t.exitCode !== 0);
    return {
      ...base,
      phase: 'Failed',
      finishedAt: iso(failed.lastTransitionTime),
      reason: terminated?.reason ?? failed.reason,
      message: terminated
        ? `container exited with code ${terminated.exitCode}${terminated.message ? `: ${terminated.message}` : ''} (Job ${failed.reason ?? 'Failed'}: ${failed.message ?? ''})`
        : failed.message,
      ...(terminated ? { exitCode: terminated.exitCode } : {}),
    };
  }
  return { ...base, phase: 'Running' };
}

/** Step statuses of the whole run, with steps behind a failure marked Skipped. */
export function runStatus(spec: BatchWorkflowSpec, runId: string, order: string[], observed: Observed): BatchRunStatus {
  const byName = new Map(spec.executors.map((e) => [e.name, e]));
  const steps = new Map<string, StepStatus>();
  for (const name of order) {
    let s = stepStatus(spec, runId, name, observed);
    const deps = byName.get(name)?.dependsOn ?? [];
    if (s.phase === 'Pending' && deps.some((d) => ['Failed', 'Skipped'].includes(steps.get(d)?.phase ?? '')))
      s = { ...s, phase: 'Skipped' };
    steps.set(name, s);
  }
  const list = order.map((n) => steps.get(n)!);
  const anyFailed = list.some((s) => s.phase === 'Failed');
  const active = list.some((s) => s.phase === 'Running') || (!anyFailed && list.some((s) => s.phase === 'Pending'));
  const phase = active ? 'Running' : anyFailed ? 'Failed' : 'Succeeded';
  return { app: spec.app, workflow: spec.workflow, runId, phase, steps: list };
}

/** Executors whose Job should be created now: not created, every dependency Succeeded. */
export function startable(spec: BatchWorkflowSpec, status: BatchRunStatus): string[] {
  const phase = new Map(status.steps.map((s) => [s.executor, s.phase]));
  return spec.executors
    .filter((e) => phase.get(e.name) === 'Pending' && (e.dependsOn ?? []).every((d) => phase.get(d) === 'Succeeded'))
    .map((e) => e.name);
}
