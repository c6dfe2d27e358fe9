import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { binaryPath } from './binaries.js';
import { ManagedProcess } from './process.js';

export interface S3ServerOptions {
  /** Directory whose sub-directories are the buckets (versitygw's posix backend). */
  dataDir: string;
  port: number;
  accessKey: string;
  secretKey: string;
  logDir: string;
  /** More addresses to listen on beside 127.0.0.1 (the real nodes' bridge, so pods reach it); same port. */
  alsoOn?: string[];
}

export interface RunningS3 {
  endpoint: string;
  port: number;
  accessKey: string;
  secretKey: string;
  process: ManagedProcess;
}

/** versitygw (Apache-2.0) serving S3 on 127.0.0.1 from a local directory. */
export async function startS3Server(opts: S3ServerOptions): Promise<RunningS3> {
  mkdirSync(opts.dataDir, { recursive: true });
  const proc = await ManagedProcess.start({
    name: 'versitygw',
    command: binaryPath('versitygw'),
    args: [
      '--access',
      opts.accessKey,
      '--secret',
      opts.secretKey,
      ...['127.0.0.1', ...(opts.alsoOn ?? [])].flatMap((host) => ['--port', `${host}:${opts.port}`]),
      'posix',
      opts.dataDir,
    ],
    logFile: join(opts.logDir, 'versitygw.log'),
    // Any HTTP answer (even 403 to an anonymous request) means the gateway serves.
    ready: async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${opts.port}/`, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        return true;
      } catch {
        return false;
      }
    },
    readyTimeoutMs: 30_000,
  });
  return {
    endpoint: `http://127.0.0.1:${opts.port}`,
    port: opts.port,
    accessKey: opts.accessKey,
    secretKey: opts.secretKey,
    process: proc,
  };
}
