/**
 * One container run to completion as a Kubernetes Job whose spec comes with the call, not from a
 * stored batch definition (batch.ts): a training run whose arguments differ per run would race
 * another run's on a shared definition. The Job is built by the same builder as a batch step
 * (manifests.ts jobOf: restricted pod, Secret references, requests and limits) and its phase and
 * failure reason are read the same way (dag.ts stepStatus). Nothing is kept between polls: a
 * retried caller with the same run id finds the Job an earlier attempt created instead of making
 * a second one.
 */
import type { V1ContainerStateWaiting, V1Job, V1Pod } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchWorkflowSpec, ExecutorSpec, StepStatus, WorkflowRef } from '../types.js';
import { jobName, runLabels } from '../names.js';
import { validateBatch } from '../validate.js';
import { kubeCall } from './api-errors.js';
import { loadKubeConfig, makeClients } from './client.js';
import { stepStatus } from './dag.js';
import { jobOf } from './manifests.js';
import { NamespacedObjects } from './objects.js';

/** A step's status plus what its container said on the way out. */
export interface JobRunStatus extends StepStatus {
  /** The container's termination message (its /dev/termination-log), when it ended. */
  terminationMessage?: string;
  /** Pod names of the Job (for reading a pod's cgroup, logs). */
  pods: string[];
  /** Why a pod has not started, when it waits (e.g. Unschedulable, ErrImageNeverPull). */
  waiting?: string;
}

export interface JobFollowOptions {
  pollMs?: number;
  /** Stops following (the Job keeps running: the caller decides whether to delete it). */
  signal?: AbortSignal;
  /** Called on every change of phase or waiting reason. */
  onProgress?: (s: JobRunStatus) => void;
}

/**
 * Waiting reasons that never clear by themselves: the Job would wait until its deadline, so they
 * end it as a failure with that reason.
 */
export const FATAL_WAITING: ReadonlySet<string> = new Set([
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

export class OneOffJobs {
  constructor(readonly objects: NamespacedObjects) {}

  static connect(opts: { kubeconfigPath?: string; namespace: string }): OneOffJobs {
    return new OneOffJobs(new NamespacedObjects(opts.namespace, makeClients(loadKubeConfig(opts.kubeconfigPath))));
  }

  /** The Job's name; throws InvalidSpec for a name, image or resources the platform refuses. */
  check(ref: WorkflowRef, runId: string, executor: ExecutorSpec): string {
    validateBatch(single(ref, executor), runId);
    return jobName(ref, runId, executor.name);
  }

  /** Creates the Job unless one exists for this run, then follows it until it succeeds or fails. */
  async run(
    ref: WorkflowRef,
    runId: string,
    executor: ExecutorSpec,
    opts: JobFollowOptions = {},
  ): Promise<JobRunStatus> {
    this.check(ref, runId, executor);
    let last = '';
    for (;;) {
      let status = await this.status(ref, runId, executor.name);
      if (status.phase === 'Pending') {
        await this.objects.apply(jobOf(ref, this.objects.namespace, runId, executor));
        status = await this.status(ref, runId, executor.name);
      }
      const key = `${status.phase} ${status.waiting ?? ''} ${status.pods.join(',')}`;
      if (key !== last) {
        last = key;
        opts.onProgress?.(status);
      }
      if (status.phase === 'Succeeded' || status.phase === 'Failed') return status;
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      await sleep(opts.pollMs ?? 1_000, undefined, opts.signal ? { signal: opts.signal } : undefined);
    }
  }

  /** Pending when there is no Job (yet, or any more); a pod stuck on a fatal waiting reason counts as Failed. */
  async status(ref: WorkflowRef, runId: string, executor: string): Promise<JobRunStatus> {
    const name = jobName(ref, runId, executor);
    const labels = runLabels(ref, runId, executor);
    const job = await this.readJob(name);
    const pods = (await this.objects.pods(labels)).filter((p) => p.metadata?.labels?.['job-name'] === name);
    const observed = { jobs: new Map<string, V1Job>(job ? [[name, job]] : []), pods };
    const spec: BatchWorkflowSpec = { ...ref, executors: [{ name: executor, image: '-' }] };
    const step = stepStatus(spec, runId, executor, observed);
    const terminated = pods
      .flatMap((p) => p.status?.containerStatuses ?? [])
      .map((c) => c.state?.terminated)
      .find((t) => t !== undefined);
    const waiting = waitingReason(pods);
    const base: JobRunStatus = {
      ...step,
      pods: pods.map((p) => p.metadata?.name ?? '').filter(Boolean),
      ...(terminated?.message ? { terminationMessage: terminated.message } : {}),
      ...(waiting ? { waiting: waiting.text } : {}),
    };
    if (step.phase === 'Running' && waiting && FATAL_WAITING.has(waiting.reason))
      return { ...base, phase: 'Failed', reason: waiting.reason, message: waiting.text };
    return base;
  }

  /** Deletes the Job and its pods (absent is fine). */
  async remove(ref: WorkflowRef, runId: string, executor: string): Promise<void> {
    await this.objects.remove('batch/v1', 'Job', jobName(ref, runId, executor));
  }

  private async readJob(name: string): Promise<V1Job | undefined> {
    // A list (the platform's Role may list Jobs, not get them), narrowed by name.
    const list = await kubeCall(`list Job ${this.objects.namespace}/${name}`, () =>
      this.objects.clients.batch.listNamespacedJob({
        namespace: this.objects.namespace,
        fieldSelector: `metadata.name=${name}`,
      }),
    );
    return list.items.find((j) => !j.metadata?.deletionTimestamp);
  }
}

const single = (ref: WorkflowRef, e: ExecutorSpec): BatchWorkflowSpec => ({
  ...ref,
  executors: [{ ...e, dependsOn: [] }],
});

/** Why the Job's pod is not running: unschedulable, or a container waiting (image, config). */
function waitingReason(pods: V1Pod[]): { reason: string; text: string } | undefined {
  for (const p of pods) {
    const unscheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    if (unscheduled)
      return { reason: unscheduled.reason ?? 'Unschedulable', text: `${unscheduled.reason}: ${unscheduled.message}` };
    const w: V1ContainerStateWaiting | undefined = p.status?.containerStatuses
      ?.map((c) => c.state?.waiting)
      .find((x) => x?.reason && x.reason !== 'ContainerCreating');
    if (w?.reason) return { reason: w.reason, text: `${w.reason}${w.message ? `: ${w.message}` : ''}` };
  }
  return undefined;
}
