/**
 * How many CPUs this process may really use: the CPUs it may run on (sched affinity, which
 * `availableParallelism` honours) capped by its cgroup's CPU quota, rounded up. A pod limited to
 * 1 CPU on a 16-core node gets 1, not 16; a node pinned to one core gets 1. `--workers auto`
 * starts this many server processes (measured: on 2 free cores two processes answer 1.2–1.5×
 * more requests than one, at every concurrency; bench/serving.ts).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/** The cgroup CPU quota in CPUs (quota / period), or null when there is none or it cannot be read. */
export function cgroupCpuQuota(root = '/sys/fs/cgroup'): number | null {
  const read = (file: string): string | null => {
    try {
      return readFileSync(join(root, file), 'utf8').trim();
    } catch {
      return null;
    }
  };
  const v2 = read('cpu.max'); // cgroup v2: "<quota|max> <period>"
  if (v2 !== null) {
    const [quota, period] = v2.split(/\s+/);
    return quota === 'max' ? null : ratio(quota, period);
  }
  const quota = read('cpu/cpu.cfs_quota_us') ?? read('cpu,cpuacct/cpu.cfs_quota_us'); // cgroup v1; -1 = none
  const period = read('cpu/cpu.cfs_period_us') ?? read('cpu,cpuacct/cpu.cfs_period_us');
  return quota === null || quota === '-1' ? null : ratio(quota, period ?? undefined);
}

function ratio(quota: string | undefined, period: string | undefined): number | null {
  const q = Number(quota);
  const p = Number(period);
  return Number.isFinite(q) && Number.isFinite(p) && q > 0 && p > 0 ? q / p : null;
}

/** CPUs usable by this process: affinity, capped by the cgroup quota (rounded up), at least 1. */
export function usableCpus(root?: string, parallelism = availableParallelism()): number {
  const quota = cgroupCpuQuota(root);
  return Math.max(1, quota === null ? parallelism : Math.min(parallelism, Math.ceil(quota - 1e-9)));
}
