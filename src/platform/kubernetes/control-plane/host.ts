/**
 * Small host helpers of the control plane: run a command, call the API server over TLS with a
 * bearer token, read and write cgroup/sysfs files without throwing on the ones that are gone.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (no shell); never throws for a non-zero exit: look at `code`. */
export function run(command: string, args: string[], timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (err && code !== 0 ? err.message : '')) });
    });
  });
}

/** Runs a command and throws an error naming it and its stderr when it fails. */
export async function mustRun(command: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await run(command, args, timeoutMs);
  if (r.code !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim().slice(-2_000)}`);
  return r.stdout;
}

/**
 * A host process's HTTPS readiness probe: true once anything answers at `url`, whatever the status
 * (an aggregated API server's own certificate is self-signed and its /readyz may want credentials;
 * what the start-up waits for is the listener).
 */
export async function httpsAnswers(url: string): Promise<boolean> {
  try {
    return (await httpsRequest(url, { timeoutMs: 2_000 })).status > 0;
  } catch {
    return false;
  }
}

/** GET/POST/... over TLS without verifying the throwaway cluster's self-signed certificate. */
export function httpsRequest(
  url: string,
  opts: { token?: string; method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        rejectUnauthorized: false,
        timeout: opts.timeoutMs ?? 5_000,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${opts.timeoutMs ?? 5_000} ms`)));
    req.end(payload);
  });
}

/** True when a GET answers 2xx. */
export async function httpsOk(url: string, token?: string): Promise<boolean> {
  try {
    return (await httpsRequest(url, { token, timeoutMs: 2_000 })).status < 300;
  } catch {
    return false;
  }
}

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Writes a sysfs/procfs file; returns the error message instead of throwing. */
export function writeSys(path: string, value: string): string | undefined {
  try {
    writeFileSync(path, value);
    return undefined;
  } catch (err) {
    return `${path}: ${(err as Error).message}`;
  }
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function processAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const exists = existsSync;
