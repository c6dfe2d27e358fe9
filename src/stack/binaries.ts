import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

/** Where scripts/provision caches external binaries (outside the checkout, shared by clones). */
export const cacheDir = (): string => process.env.SCANFLOW_CACHE ?? join(homedir(), '.cache', 'scanflow');

const provisionStep: Record<string, string> = {
  temporal: 'temporal',
  versitygw: 's3',
  prometheus: 'prometheus',
  etcd: 'kubernetes',
  'kube-apiserver': 'kubernetes',
  'kube-controller-manager': 'kubernetes',
  'kube-scheduler': 'kubernetes',
  kwok: 'kubernetes',
};

/**
 * Absolute path of a provisioned binary: $SCANFLOW_CACHE/bin first, then PATH.
 * Throws an error that names the missing piece and the command that provisions it.
 */
export function binaryPath(name: string): string {
  const cached = join(cacheDir(), 'bin', name);
  if (existsSync(cached)) return cached;
  try {
    return execFileSync('which', [name], { encoding: 'utf8' }).trim();
  } catch {
    const step = provisionStep[name] ?? name;
    throw new Error(
      `'${name}' is not provisioned (looked in ${join(cacheDir(), 'bin')} and on PATH): run 'npm run provision' (or 'bash scripts/provision ${step}')`,
    );
  }
}
