import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ManagedProcess } from '../../src/stack/process.js';

export type Component = 'temporal' | 's3' | 'prometheus' | 'kubernetes' | 'nodes';

export interface HarnessState {
  workDir?: string;
  temporal?: TestWorkflowEnvironment;
  processes: ManagedProcess[];
  stops: Array<() => Promise<void>>;
}

/** Global setup and teardown run in the same context: they share state through globalThis. */
export function harnessState(): HarnessState {
  const g = globalThis as { __scanflowHarness?: HarnessState };
  g.__scanflowHarness ??= { processes: [], stops: [] };
  return g.__scanflowHarness;
}
