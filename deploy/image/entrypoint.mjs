// The entry points of Scanflow's image (scripts/build-image, deploy/image/Containerfile):
//   serve  [flags]   the OIP v2 model server, src/serving/main.ts (flags or SCANFLOW_* variables)
//   worker           the Temporal worker, workers/main.ts (roles from SCANFLOW_WORKER_ROLES)
//   script FILE.ts   any other TypeScript program of the checkout, e.g. a one-off maintenance task
// TypeScript runs directly through tsx, as `npm run serve` and `npm run worker` do on a developer's
// machine, so the image ships the sources it was built from and needs no compile step.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

const entries = { serve: 'src/serving/main.ts', worker: 'workers/main.ts' };
const [command = 'serve', ...rest] = process.argv.slice(2);
let target = entries[command];
let args = rest;
if (command === 'script' && rest[0]) [target, ...args] = rest;
if (!target) {
  console.error(`scanflow image: unknown command '${command}' (known: serve, worker, script FILE.ts)`);
  process.exit(64);
}
const file = resolve(process.cwd(), target);
// The program reads its flags from process.argv.slice(2), as when started by `tsx FILE`.
process.argv = [process.argv[0], file, ...args];
register();
await import(pathToFileURL(file).href);
