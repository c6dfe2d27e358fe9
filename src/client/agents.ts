/**
 * The typed TypeScript client for agents: start, call, signal, query, update, stop and discover.
 * Specs are validated before anything reaches the server, so a bad spec starts no workflow.
 */
import { type Client, WorkflowIdReusePolicy, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { AgentSpec, Json, Strategy } from '../agents/spec.js';
import {
  DEFAULT_AGENT_TASK_QUEUE,
  ScanflowAgent,
  ScanflowApp,
  ScanflowState,
  ScanflowTemplate,
  agentSearchAttributes,
  agentWorkflowId,
} from '../agents/conventions.js';
import { validateAgentSpec } from '../agents/validate.js';
import {
  type AgentCall,
  type AgentStateView,
  type AgentStatus,
  type CallOutcome,
  type Decision,
  addStrategyUpdate,
  callAndWaitUpdate,
  callSignal,
  decisionsQuery,
  pauseUpdate,
  removeStrategyUpdate,
  replaceStrategyUpdate,
  resumeUpdate,
  setParametersUpdate,
  stateQuery,
  stopUpdate,
  strategiesQuery,
} from '../agents/messages.js';
import type { agentWorkflow } from '../workflows/agent.js';

export interface AgentSummary {
  workflowId: string;
  runId: string;
  app: string;
  agent: string;
  template: string;
  state: string;
  status: string;
}

/** An update the agent rejected (bad strategy, unknown name, stopping): the message says what is wrong. */
export class AgentUpdateRejected extends Error {
  constructor(
    message: string,
    readonly type: string | undefined,
  ) {
    super(message);
    this.name = 'AgentUpdateRejected';
  }
}

async function unwrap<T>(update: Promise<T>): Promise<T> {
  try {
    return await update;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause) {
      throw new AgentUpdateRejected(err.cause.message, (err.cause as { type?: string }).type);
    }
    throw err;
  }
}

export class AgentHandle {
  constructor(readonly workflow: WorkflowHandle<typeof agentWorkflow>) {}
  get workflowId(): string {
    return this.workflow.workflowId;
  }
  /** Call-Receive without waiting: a signal (processed once per callId). */
  async signalCall(call: AgentCall): Promise<void> {
    await this.workflow.signal(callSignal, call);
  }
  /** Call-Receive waiting for the outcome ("IF successful_call"): an update whose id is the call id when given. */
  call(call: AgentCall): Promise<CallOutcome> {
    return unwrap(
      this.workflow.executeUpdate(callAndWaitUpdate, {
        args: [call],
        ...(call.callId ? { updateId: call.callId } : {}),
      }),
    );
  }
  state(): Promise<AgentStateView> {
    return this.workflow.query(stateQuery);
  }
  strategies(): Promise<Strategy[]> {
    return this.workflow.query(strategiesQuery);
  }
  decisions(last?: number): Promise<Decision[]> {
    return this.workflow.query(decisionsQuery, last);
  }
  addStrategy(strategy: Strategy): Promise<string[]> {
    return unwrap(this.workflow.executeUpdate(addStrategyUpdate, { args: [strategy] }));
  }
  replaceStrategy(strategy: Strategy): Promise<string[]> {
    return unwrap(this.workflow.executeUpdate(replaceStrategyUpdate, { args: [strategy] }));
  }
  removeStrategy(name: string): Promise<string[]> {
    return unwrap(this.workflow.executeUpdate(removeStrategyUpdate, { args: [name] }));
  }
  setParameters(parameters: Record<string, Json>): Promise<Record<string, Json>> {
    return unwrap(this.workflow.executeUpdate(setParametersUpdate, { args: [parameters] }));
  }
  pause(): Promise<AgentStatus> {
    return unwrap(this.workflow.executeUpdate(pauseUpdate));
  }
  resume(): Promise<AgentStatus> {
    return unwrap(this.workflow.executeUpdate(resumeUpdate));
  }
  /** Stops the agent: deletes its trigger schedules, answers waiting callers, completes the workflow. */
  async stop(reason?: string): Promise<string[]> {
    const removed = await unwrap(this.workflow.executeUpdate(stopUpdate, { args: [reason ?? 'stopped by a client'] }));
    await this.workflow.result();
    return removed;
  }
}

export class AgentClient {
  constructor(
    private readonly client: Client,
    private readonly options: { taskQueue?: string } = {},
  ) {}

  /** Validates the spec (throws SpecError naming the bad field) and starts the agent workflow. */
  async start(rawSpec: unknown, options: { taskQueue?: string } = {}): Promise<AgentHandle> {
    const spec: AgentSpec = validateAgentSpec(rawSpec);
    const handle = await this.client.workflow.start<typeof agentWorkflow>('agentWorkflow', {
      workflowId: agentWorkflowId(spec.app, spec.name),
      taskQueue: options.taskQueue ?? this.options.taskQueue ?? DEFAULT_AGENT_TASK_QUEUE,
      args: [spec],
      // A stopped agent may be started again under the same id; a running one may not be started twice.
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      typedSearchAttributes: agentSearchAttributes(spec, 'running'),
    });
    return new AgentHandle(handle);
  }

  get(app: string, agent: string): AgentHandle {
    return new AgentHandle(this.client.workflow.getHandle<typeof agentWorkflow>(agentWorkflowId(app, agent)));
  }

  /** The visibility query listing the agents of an app (also usable with `temporal workflow list -q`). */
  static listQuery(app: string, opts: { runningOnly?: boolean } = {}): string {
    return `ScanflowKind='agent' AND ScanflowApp='${app.replace(/'/g, '')}'${opts.runningOnly === false ? '' : " AND ExecutionStatus='Running'"}`;
  }

  /** Agents of an app, from the server's visibility store (eventually consistent: a just-started agent may take a moment). */
  async list(app: string, opts: { runningOnly?: boolean } = {}): Promise<AgentSummary[]> {
    const out: AgentSummary[] = [];
    for await (const wf of this.client.workflow.list({ query: AgentClient.listQuery(app, opts) })) {
      out.push({
        workflowId: wf.workflowId,
        runId: wf.runId,
        status: wf.status.name,
        app: wf.typedSearchAttributes.get(ScanflowApp) ?? '',
        agent: wf.typedSearchAttributes.get(ScanflowAgent) ?? '',
        template: wf.typedSearchAttributes.get(ScanflowTemplate) ?? '',
        state: wf.typedSearchAttributes.get(ScanflowState) ?? '',
      });
    }
    return out;
  }
}
