/**
 * `scanflow codec-server`: the payload codec server for the Temporal Web UI and CLI, holding the
 * encryption keys of SCANFLOW_CODEC_KEY_FILE. Point the UI at it (`--ui-codec-endpoint`, or the
 * UI's "Codec Server" setting) and the CLI with `--codec-endpoint`.
 *   scanflow codec-server [--port 8235] [--ui-origin http://localhost:8233]
 * SCANFLOW_CODEC_TOKEN_FILE (optional): a file with the bearer token callers must send.
 */
import { readFileSync } from 'node:fs';
import type { TemporalSettings } from '../temporal/connection-options.js';
import { createCodecServer } from '../temporal/codec-server.js';
import { EncryptionCodec, readKeyFile } from '../temporal/encryption-codec.js';

export interface RunningCodecServer {
  url: string;
  close(): Promise<void>;
}

export async function startCodecServer(
  settings: TemporalSettings,
  opts: { port: number; uiOrigin: string; host?: string; tokenFile?: string },
): Promise<RunningCodecServer> {
  if (!settings.codecKeyFile) throw new Error('SCANFLOW_CODEC_KEY_FILE is not set: there is no key to decode with');
  const token = opts.tokenFile ? readFileSync(opts.tokenFile, 'utf8').trim() : undefined;
  const server = createCodecServer({
    codec: new EncryptionCodec(readKeyFile(settings.codecKeyFile)),
    allowedOrigins: [opts.uiOrigin, opts.uiOrigin.replace('localhost', '127.0.0.1')],
    token,
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`codec server: cannot listen on ${host}:${opts.port}: ${err.message}`)),
    );
    server.listen(opts.port, host, () => resolve());
  });
  return {
    url: `http://${host === '127.0.0.1' ? 'localhost' : host}:${opts.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function runCodecServer(settings: TemporalSettings, args: string[]): Promise<number> {
  const value = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const port = Number(value('--port') ?? settings.uiPort + 2);
  if (!Number.isInteger(port) || port <= 0 || port > 65535)
    throw new Error(`--port: expected a TCP port, got '${value('--port')}'`);
  const running = await startCodecServer(settings, {
    port,
    uiOrigin: value('--ui-origin') ?? `http://localhost:${settings.uiPort}`,
    host: value('--host'),
    tokenFile: process.env.SCANFLOW_CODEC_TOKEN_FILE,
  });
  console.log(`[scanflow] codec server on ${running.url} (POST /decode, /encode); Ctrl-C to stop`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await running.close();
  return 0;
}
