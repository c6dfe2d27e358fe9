/**
 * `--workers auto`: CPUs usable by the process, from a cgroup tree laid out in a temporary
 * directory (v2 `cpu.max`, v1 `cfs_quota_us`/`cfs_period_us`), one named row per case.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { cgroupCpuQuota, usableCpus } from '../../../src/serving/usable-cpus.js';

function cgroupTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'cgroup-'));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  return root;
}

describe('usable CPUs', () => {
  it.each([
    ['v2 without a quota', { 'cpu.max': 'max 100000\n' }, 8, null, 8],
    ['v2 with 1 CPU', { 'cpu.max': '100000 100000\n' }, 8, 1, 1],
    ['v2 with 1.5 CPUs (rounded up)', { 'cpu.max': '150000 100000\n' }, 8, 1.5, 2],
    ['v2 with 250m (at least 1)', { 'cpu.max': '25000 100000\n' }, 8, 0.25, 1],
    ['v2 quota above the cores the process may run on', { 'cpu.max': '400000 100000\n' }, 2, 4, 2],
    ['v1 with 2 CPUs', { 'cpu/cpu.cfs_quota_us': '200000\n', 'cpu/cpu.cfs_period_us': '100000\n' }, 8, 2, 2],
    ['v1 without a quota', { 'cpu/cpu.cfs_quota_us': '-1\n', 'cpu/cpu.cfs_period_us': '100000\n' }, 4, null, 4],
    [
      'v1 under cpu,cpuacct',
      { 'cpu,cpuacct/cpu.cfs_quota_us': '50000', 'cpu,cpuacct/cpu.cfs_period_us': '100000' },
      4,
      0.5,
      1,
    ],
    ['no cgroup files', {}, 3, null, 3],
    ['a garbled cpu.max', { 'cpu.max': 'lots\n' }, 3, null, 3],
  ])('%s', (_name, files, parallelism, quota, expected) => {
    const root = cgroupTree(files);
    expect(cgroupCpuQuota(root)).toBe(quota);
    expect(usableCpus(root, parallelism)).toBe(expected);
  });
});
