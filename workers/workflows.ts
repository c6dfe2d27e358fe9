// The workflow bundle's entry module: the runtime's workflows and every installed app's.
// Workflow code only (deterministic, no I/O). Keep in step with ./apps.ts.
export * from '../src/workflows/index.js';
export * from '../src/apps/mnist/workflows/index.js';
