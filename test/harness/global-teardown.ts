import { rmSync } from 'node:fs';
import { Runtime } from '@temporalio/worker';
import { harnessState } from './state.js';

export default async function globalTeardown(): Promise<void> {
  const state = harnessState();
  const stops: Promise<unknown>[] = [...state.stops.map((stop) => stop()), ...state.processes.map((p) => p.stop())];
  if (state.temporal) stops.push(state.temporal.teardown());
  const results = await Promise.allSettled(stops);
  state.stops = [];
  state.processes = [];
  state.temporal = undefined;
  // The Temporal runtime that started the dev server would otherwise hold the process open.
  if (Runtime._instance) await Runtime._instance.shutdown();
  for (const r of results)
    if (r.status === 'rejected') process.stderr.write(`[harness] teardown: ${String(r.reason)}\n`);
  // Keep the logs of a failed run for a post-mortem when asked to.
  if (state.workDir && !process.env.SCANFLOW_KEEP_TEST_DIR) rmSync(state.workDir, { recursive: true, force: true });
}
