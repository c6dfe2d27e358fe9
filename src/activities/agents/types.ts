/** Inputs of the agent runtime's own activities (types only: the agent workflow imports them). */
import type { Json, Trigger } from '../../agents/spec.js';

export interface SyncSchedulesInput {
  app: string;
  agent: string;
  agentWorkflowId: string;
  /** Task queue the trigger workflows run on (the agent's). */
  taskQueue: string;
  /** Strategies with a time trigger; each gets the schedule `scanflow.<app>.<agent>.<strategy>`. */
  triggers: { strategy: string; trigger: Trigger }[];
  /** Schedule ids created before: those no longer wanted are deleted. */
  previous: string[];
  paused: boolean;
}

export interface PauseSchedulesInput {
  scheduleIds: string[];
  paused: boolean;
  note: string;
}

export interface RemoteCallInput {
  workflowId: string;
  call: { name: string; args?: Json; caller?: string; callId: string };
}

export interface RemoteTuneInput {
  workflowId: string;
  parameters: Record<string, Json>;
}
