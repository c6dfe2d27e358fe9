/**
 * The batch-workflow primitives on a cluster. A batch workflow's definition is stored in a
 * ConfigMap (the source of truth for runs and for the update primitives); a run creates one Job
 * per executor in dependency order (dag.ts) and follows them to the end. Nothing is kept in this
 * process between polls, so a retried activity re-attaches to the Jobs an earlier attempt created.
 */
import type { V1Job } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  AffinitySpec,
  BatchRunStatus,
  BatchWorkflowSpec,
  ContainerUpgrade,
  ExecutorSpec,
  ResourceSpec,
  RunOptions,
  StepStatus,
  WorkflowRef,
} from '../types.js';
import { LABEL_RUN } from '../types.js';
import { invalidSpec } from '../errors.js';
import { batchDefinitionName, checkDnsLabel, checkRef, componentLabels, selectorOf, workflowLabels } from '../names.js';
import { validateBatch, validateUpgrade } from '../validate.js';
import { kubeCall } from './api-errors.js';
import { runStatus, startable, type Observed } from './dag.js';
import { batchDefinitionOf, jobOf } from './manifests.js';
import type { NamespacedObjects } from './objects.js';

export class BatchWorkflows {
  constructor(private readonly objects: NamespacedObjects) {}

  /** Stores (or replaces) the definition without running it. */
  async apply(spec: BatchWorkflowSpec): Promise<void> {
    validateBatch(spec);
    const clean: BatchWorkflowSpec = { app: spec.app, workflow: spec.workflow, executors: spec.executors };
    await this.objects.apply(
      batchDefinitionOf(spec, this.objects.namespace, batchDefinitionName(spec), JSON.stringify(clean)),
    );
  }

  /** The stored definition (the source of truth for runs and update primitives). */
  async read(ref: WorkflowRef): Promise<BatchWorkflowSpec> {
    checkRef(ref);
    const cm = (await this.objects.readOptional('v1', 'ConfigMap', batchDefinitionName(ref))) as
      { data?: Record<string, string> } | undefined;
    const raw = cm?.data?.['workflow.json'];
    if (!raw)
      throw invalidSpec(
        `batch workflow ${ref.app}/${ref.workflow} is not defined in ${this.objects.namespace} (applyBatchWorkflow first)`,
      );
    return JSON.parse(raw) as BatchWorkflowSpec;
  }

  async status(ref: WorkflowRef, runId: string): Promise<BatchRunStatus> {
    const spec = await this.read(ref);
    checkDnsLabel(runId, 'runId', 20);
    return runStatus(spec, runId, validateBatch(spec, runId), await this.observe(ref, runId));
  }

  async run(ref: WorkflowRef, runId: string, opts: RunOptions = {}): Promise<BatchRunStatus> {
    checkDnsLabel(runId, 'runId', 20);
    let last = '';
    for (;;) {
      // Re-read the definition every round: updates made while the run goes on reach the
      // steps that have not started yet.
      const spec = await this.read(ref);
      const order = validateBatch(spec, runId);
      let status = runStatus(spec, runId, order, await this.observe(ref, runId));
      if (status.phase === 'Running' && !status.steps.some((s) => s.phase === 'Failed')) {
        const next = startable(spec, status);
        for (const name of next)
          await this.objects.apply(
            jobOf(
              spec,
              this.objects.namespace,
              runId,
              spec.executors.find((e) => e.name === name)!,
            ),
          );
        if (next.length) status = runStatus(spec, runId, order, await this.observe(ref, runId));
      }
      // Report a change once, not every poll: each report is a heartbeat with the status.
      const key = JSON.stringify(status.steps.map((s) => [s.executor, s.phase]));
      if (key !== last) {
        last = key;
        opts.onProgress?.(status);
      }
      if (status.phase !== 'Running') return status;
      await pause(opts);
    }
  }

  /** Deletes every Job (and pod) of the workflow, or of one run. */
  async stop(ref: WorkflowRef, runId?: string): Promise<void> {
    checkRef(ref);
    await this.objects.removeLabelled('batch/v1', 'Job', {
      ...workflowLabels(ref),
      ...(runId ? { [LABEL_RUN]: runId } : {}),
    });
  }

  /** Runs one executor of the stored definition, its dependencies ignored, and follows it. */
  async runExecutor(ref: WorkflowRef, executor: string, runId: string, opts: RunOptions = {}): Promise<StepStatus> {
    const spec = await this.read(ref);
    const e = spec.executors.find((x) => x.name === executor);
    if (!e) throw invalidSpec(`batch workflow ${ref.app}/${ref.workflow} has no executor '${executor}'`);
    // A one-step workflow view: the executor alone, its dependencies ignored.
    const single: BatchWorkflowSpec = { ...spec, executors: [{ ...e, dependsOn: [] }] };
    checkDnsLabel(runId, 'runId', 20);
    validateBatch(single, runId);
    for (;;) {
      let status = runStatus(single, runId, [executor], await this.observe(ref, runId));
      if (status.steps[0]!.phase === 'Pending') {
        await this.objects.apply(jobOf(spec, this.objects.namespace, runId, single.executors[0]!));
        status = runStatus(single, runId, [executor], await this.observe(ref, runId));
      }
      opts.onProgress?.(status);
      const step = status.steps[0]!;
      if (step.phase === 'Succeeded' || step.phase === 'Failed') return step;
      await pause(opts);
    }
  }

  async stopExecutor(ref: WorkflowRef, executor: string, runId?: string): Promise<void> {
    checkRef(ref);
    await this.objects.removeLabelled('batch/v1', 'Job', {
      ...componentLabels(ref, executor),
      ...(runId ? { [LABEL_RUN]: runId } : {}),
    });
  }

  /** upgrade on every executor (`executor` undefined) or on one. */
  async upgrade(ref: WorkflowRef, executor: string | undefined, change: ContainerUpgrade): Promise<void> {
    const checked = validateUpgrade(change, 'upgrade');
    await this.edit(ref, executor, (e) => ({
      ...e,
      ...(checked.image ? { image: checked.image } : {}),
      ...(checked.command ? { command: checked.command } : {}),
      ...(checked.args ? { args: checked.args } : {}),
      ...(checked.env ? { env: { ...e.env, ...checked.env } } : {}),
    }));
  }

  async updateAffinity(ref: WorkflowRef, executor: string | undefined, affinity: AffinitySpec): Promise<void> {
    await this.edit(ref, executor, (e) => ({ ...e, affinity }));
  }

  async updateResources(ref: WorkflowRef, executor: string | undefined, resources: ResourceSpec): Promise<void> {
    await this.edit(ref, executor, (e) => ({ ...e, resources }));
  }

  /** Changes the stored definition: it applies to steps not started yet and to later runs. */
  private async edit(
    ref: WorkflowRef,
    executor: string | undefined,
    change: (e: ExecutorSpec) => ExecutorSpec,
  ): Promise<void> {
    const spec = await this.read(ref);
    if (executor !== undefined && !spec.executors.some((e) => e.name === executor)) {
      throw invalidSpec(
        `batch workflow ${ref.app}/${ref.workflow} has no executor '${executor}' (known: ${spec.executors.map((e) => e.name).join(', ')})`,
      );
    }
    await this.apply({
      ...spec,
      executors: spec.executors.map((e) => (executor === undefined || e.name === executor ? change(e) : e)),
    });
  }

  /** The run's Jobs and pods, found by their run label. */
  private async observe(ref: WorkflowRef, runId: string): Promise<Observed> {
    const labels = { ...workflowLabels(ref), [LABEL_RUN]: runId };
    const jobs = await kubeCall(`list Jobs of ${ref.workflow} run ${runId}`, () =>
      this.objects.clients.batch.listNamespacedJob({
        namespace: this.objects.namespace,
        labelSelector: selectorOf(labels),
      }),
    );
    const pods = await this.objects.pods(labels);
    return { jobs: new Map(jobs.items.map((j: V1Job) => [j.metadata?.name ?? '', j])), pods };
  }
}

/** Waits one poll interval, or stops following (the Jobs keep running) when the signal fires. */
async function pause(opts: RunOptions): Promise<void> {
  if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
  await sleep(opts.pollMs ?? 500, undefined, opts.signal ? { signal: opts.signal } : undefined);
}
