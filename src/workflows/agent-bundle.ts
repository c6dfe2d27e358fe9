// The workflows an agents-only worker needs (task queue `scanflow-agents`): the agent and its trigger.
// A worker that also runs batch/training workflows bundles ./index.ts instead.
export * from './agent.js';
export * from './trigger.js';
