/** The project's OCI image for the real nodes (scripts/build-image, cached by content). */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ProjectImage {
  ref: string;
  archive: string;
  bytes: number;
  seconds: number;
  cached: boolean;
}

const script = fileURLToPath(new URL('../../../../scripts/build-image', import.meta.url));

/** scripts/build-image --json; its progress lines go to `log`. */
export function buildProjectImage(log: (line: string) => void): Promise<ProjectImage> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'bash',
      [script, '--json'],
      { maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000 },
      (err, stdout, stderr) => {
        if (err)
          return reject(new Error(`scripts/build-image failed: ${err.message}\n${String(stderr).slice(-2_000)}`));
        try {
          resolve(JSON.parse(String(stdout).trim().split('\n').pop() ?? '') as ProjectImage);
        } catch {
          reject(new Error(`scripts/build-image printed no JSON line: ${String(stdout).slice(-500)}`));
        }
      },
    );
    child.stderr?.on('data', (d: Buffer) => {
      for (const line of String(d).split('\n')) if (line.trim()) log(`image: ${line.trim()}`);
    });
  });
}
