// The MNIST case study's own workflows (bundled by workers/workflows.ts).
export * from './bootstrap.js';
