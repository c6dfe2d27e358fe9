import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
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
  /**
   * Where the process's pid is kept while it runs. A process found there at start (left by a run
   * that was killed with SIGKILL, which gave it no chance to stop its children) is stopped first,
   * so its port and database are free again.
   */
  pidFile?: string;
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
    if (spec.pidFile) await stopOrphan(spec);
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
    if (spec.pidFile) {
      mkdirSync(dirname(spec.pidFile), { recursive: true });
      writeFileSync(spec.pidFile, `${child.pid}\n`);
      child.once('exit', () => rmSync(spec.pidFile!, { force: true }));
    }
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

/** The pid in spec.pidFile when that process still runs spec.command, else undefined. */
function orphanPid(spec: ProcessSpec): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(spec.pidFile!, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    // A recycled pid belongs to another program: leave it alone.
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return basename(argv0) === basename(spec.command) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function stopOrphan(spec: ProcessSpec): Promise<void> {
  const pid = orphanPid(spec);
  if (pid === undefined) return;
  console.warn(`[scanflow] stopping ${spec.name} (pid ${pid}) left running by a previous run that was killed`);
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  signalGroup(pid, 'SIGTERM');
  for (let waited = 0; alive() && waited < 10_000; waited += 100) await sleep(100);
  if (alive()) signalGroup(pid, 'SIGKILL');
  for (let waited = 0; alive() && waited < 5_000; waited += 100) await sleep(100);
  rmSync(spec.pidFile!, { force: true });
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
