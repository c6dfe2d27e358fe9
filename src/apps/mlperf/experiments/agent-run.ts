/**
 * An agent the experiment starts, with every decision it takes collected by sequence number (the
 * agent keeps a bounded log) and its Temporal UI link for the report.
 */
import type { Client } from '@temporalio/client';
import type { AgentSpec } from '../../../agents/spec.js';
import type { Decision } from '../../../agents/messages.js';
import { AgentClient, type AgentHandle } from '../../../client/agents.js';

export interface AgentRecord {
  id: string;
  /** Temporal UI page of the agent's workflow. */
  link: string;
  decisions: Decision[];
}

export class RunningAgent {
  private readonly all = new Map<number, Decision>();
  private constructor(
    readonly handle: AgentHandle,
    private readonly uiBase: string,
  ) {}

  private poller: NodeJS.Timeout | undefined;

  /** Starts the agent and reads its decisions every 5 s, so none drops out of its bounded log unread. */
  static async start(client: Client, spec: AgentSpec, uiBase: string): Promise<RunningAgent> {
    const a = new RunningAgent(await new AgentClient(client).start(spec), uiBase);
    a.poller = setInterval(() => void a.decisions().catch(() => undefined), 5_000);
    return a;
  }

  get id(): string {
    return this.handle.workflowId;
  }

  async decisions(): Promise<Decision[]> {
    for (const d of await this.handle.decisions()) this.all.set(d.seq, d);
    return [...this.all.values()].sort((a, b) => a.seq - b.seq);
  }

  async acted(): Promise<Decision[]> {
    return (await this.decisions()).filter((d) => d.outcome === 'acted');
  }

  /** Stops the agent (after reading its decisions) and returns what the report needs. */
  async stop(reason: string): Promise<AgentRecord> {
    clearInterval(this.poller);
    const decisions = await this.decisions();
    await this.handle.stop(reason).catch(() => undefined);
    return { id: this.id, link: `${this.uiBase}/${encodeURIComponent(this.id)}`, decisions };
  }
}

/** The Temporal UI's workflow list of a namespace. */
export const uiBaseOf = (temporal: { uiUrl: string; namespace: string }): string =>
  `${temporal.uiUrl}/namespaces/${temporal.namespace}/workflows`;
