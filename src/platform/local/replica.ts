/**
 * One replica of a service on this machine: a child process (ManagedProcess, own process group)
 * on a free port, with the port handed over the way a container gets it: the PORT and
 * SCANFLOW_SERVING_PORT environment variables, and Kubernetes-style $(VAR) expansion in args.
 */
import { join } from 'node:path';
import type { ServiceSpec } from '../types.js';
import { ManagedProcess, httpOk } from '../../stack/process.js';
import { freePort } from '../../stack/ports.js';

export interface ReplicaOptions {
  /** Secret values for the process's environment (resolved secretEnv): never part of `spec`, so never compared or logged. */
  secretEnv?: Record<string, string>;
  /** Directory for the replica's log file. */
  logDir: string;
  /** Working directory of the process. */
  cwd?: string;
  /** Local command for an image when the spec gives no `command` (e.g. the model server's tsx entry). */
  commandFor(image: string): string[] | undefined;
  readyTimeoutMs?: number;
}

export class Replica {
  /** Requests the router is proxying to this replica right now. */
  inFlight = 0;
  /** Last health-check verdict (the router only sends to ready replicas). */
  ready = true;
  /** Set when the replica is being removed: no new requests. */
  draining = false;
  /** Consecutive failed health checks (a busy CPU can make one probe time out). */
  private failures = 0;

  private constructor(
    readonly name: string,
    readonly port: number,
    public spec: ServiceSpec,
    private readonly proc: ManagedProcess,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** False once the process has exited (crashed or killed from outside). */
  get alive(): boolean {
    try {
      process.kill(this.proc.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  static async start(name: string, spec: ServiceSpec, options: ReplicaOptions): Promise<Replica> {
    const argv = spec.command?.length ? spec.command : options.commandFor(spec.image);
    if (!argv?.length) {
      throw new Error(
        `service ${spec.name}: the local platform cannot run image ${JSON.stringify(spec.image)}: give "command" or map the image to a local command`,
      );
    }
    const port = await freePort();
    // The model server reads SCANFLOW_SERVING_*; other commands can use PORT. Only the router is
    // meant to reach a replica, so it listens on loopback.
    const env: Record<string, string> = {
      ...spec.env,
      ...options.secretEnv,
      PORT: String(port),
      SCANFLOW_SERVING_PORT: String(port),
      SCANFLOW_SERVING_HOST: '127.0.0.1',
      SCANFLOW_REPLICA: name,
    };
    const args = [...argv.slice(1), ...(spec.args ?? [])].map((a) => expandVariables(a, env));
    const readinessPath = spec.readinessPath ?? '/';
    const proc = await ManagedProcess.start({
      name,
      command: expandVariables(argv[0]!, env),
      args,
      env,
      cwd: options.cwd,
      logFile: join(options.logDir, `${name}.log`),
      ready: () => httpOk(`http://127.0.0.1:${port}${readinessPath}`),
      readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
    });
    return new Replica(name, port, spec, proc);
  }

  /** Probes readiness; like a Kubernetes readinessProbe, `failureThreshold` misses in a row make it unready. */
  async probe(failureThreshold = 2): Promise<void> {
    if (await httpOk(`${this.url}${this.spec.readinessPath ?? '/'}`)) {
      this.failures = 0;
      this.ready = true;
      return;
    }
    this.failures += 1;
    if (this.failures >= failureThreshold) this.ready = false;
  }

  /** SIGTERM (the model server drains its own in-flight requests), SIGKILL after the grace period. */
  stop(graceMs = 15_000): Promise<void> {
    return this.proc.stop(graceMs);
  }
}

/** Kubernetes semantics: $(NAME) is replaced by the variable's value, $$(NAME) escapes, unknown names stay as written. */
export function expandVariables(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
    (match, escaped: string | undefined, name: string | undefined) => {
      if (escaped !== undefined) return `$(${escaped})`;
      return name !== undefined && env[name] !== undefined ? env[name] : match;
    },
  );
}
