import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr of the process go here (appended). */
  logFile: string;
  /** Resolves true once the process serves; polled until readyTimeoutMs. */
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
}

/** A child process in its own process group, so stop() takes its children down too. */
export class ManagedProcess {
  private exited = false;
  private exitCode: number | null = null;

  private constructor(
    readonly spec: ProcessSpec,
    private readonly child: ChildProcess,
  ) {
    child.on('exit', (code) => {
      this.exited = true;
      this.exitCode = code;
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  static async start(spec: ProcessSpec): Promise<ManagedProcess> {
    mkdirSync(dirname(spec.logFile), { recursive: true });
    const log = createWriteStream(spec.logFile, { flags: 'a' });
    await new Promise<void>((resolve, reject) => {
      log.once('open', () => resolve());
      log.once('error', reject);
    });
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', log, log],
      detached: true,
    });
    const proc = new ManagedProcess(spec, child);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(new Error(`${spec.name}: cannot start ${spec.command}: ${err.message}`)));
    });
    const deadline = Date.now() + (spec.readyTimeoutMs ?? 60_000);
    while (Date.now() < deadline) {
      if (proc.exited) {
        throw new Error(
          `${spec.name} exited with code ${proc.exitCode} before it was ready; its log (${spec.logFile}) ends with:\n${tail(spec.logFile)}`,
        );
      }
      if (await spec.ready().catch(() => false)) return proc;
      await sleep(200);
    }
    await proc.stop();
    throw new Error(
      `${spec.name} was not ready after ${spec.readyTimeoutMs ?? 60_000} ms; its log (${spec.logFile}) ends with:\n${tail(spec.logFile)}`,
    );
  }

  /** SIGTERM the process group, then SIGKILL after graceMs. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited || this.child.pid === undefined) return;
    const exit = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    signalGroup(this.child.pid, 'SIGTERM');
    // Cancel the grace timer once the process is gone, or it would hold the event loop open.
    const grace = new AbortController();
    const timedOut = await Promise.race([
      exit.then(() => false),
      sleep(graceMs, true, { signal: grace.signal }).catch(() => false),
    ]);
    grace.abort();
    if (timedOut) {
      signalGroup(this.child.pid, 'SIGKILL');
      await exit;
    }
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** True when an HTTP GET of url answers 2xx. */
export async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
