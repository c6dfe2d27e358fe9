/**
 * Figures of the real-node cluster, from the node suites that measure them (test/nodes): image
 * build and cluster start (harness), pod start to Ready, capacity of 1 vs 2 model-server pods
 * (duplicateWorkflowInstance), fail-over switch time and failed requests (updateWorkflowTraffic),
 * updateOnlineWorkflowResource in the pod's cgroup and requests/s, HPA reaction time
 * (metrics-server + kube-controller-manager) beside KEDA's (operator + external metrics adapter +
 * Prometheus trigger, in the same run) and KEDA's build time (scripts/provision-keda), DNS, rolling upgrade under traffic, node failure,
 * and one pod vs the same server as a local process. Every figure line carries the machine's load
 * average: this is a shared 2-core machine, so read them with it.
 *
 *   npx tsx bench/nodes.ts                 (BENCH_RUNS=3 repeats the run; needs root, see README "Real nodes")
 *   BENCH_SUITES=primitives,autoscaling npx tsx bench/nodes.ts
 *
 * Writes .scanflow/bench/nodes-<time>.md with the lines of every run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 1);
const suites = (
  process.env.BENCH_SUITES ?? 'primitives,autoscaling,keda,container-cost,model-server,rolling-upgrade,node-failure,dns'
)
  .split(',')
  .map((s) => `test/nodes/${s.trim()}`);

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function runOnce(): Promise<{ lines: string[]; code: number; seconds: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(join(root, 'node_modules/.bin/jest'), [...suites, '--selectProjects=integration'], {
      cwd: root,
      env: {
        ...process.env,
        SCANFLOW_TEST_COMPONENTS: 'nodes',
        NODE_OPTIONS: '--experimental-vm-modules --no-warnings',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let rest = '';
    const take = (d: Buffer): void => {
      const text = rest + d.toString('utf8');
      const parts = text.split('\n');
      rest = parts.pop() ?? '';
      for (const l of parts)
        if (/^\[(nodes|harness)\]|^Tests:/.test(l)) {
          lines.push(l);
          console.log(l);
        }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('close', (code) => resolve({ lines, code: code ?? 1, seconds: (Date.now() - t0) / 1000 }));
  });
}

const out: string[] = [`# Real-node figures (${new Date().toISOString()})`, ''];
// KEDA's build is timed once, when scripts/provision-keda builds it (it is cached after that).
const cache = process.env.SCANFLOW_CACHE ?? join(homedir(), '.cache', 'scanflow');
const kedaBuild = join(cache, 'keda-build.txt');
if (existsSync(kedaBuild)) {
  const line = `[nodes] ${readFileSync(kedaBuild, 'utf8').trim()}`;
  console.log(line);
  out.push(`- ${line}`, '');
}
let failed = 0;
for (let i = 1; i <= runs; i += 1) {
  const before = loadavg();
  const r = await runOnce();
  if (r.code !== 0) failed += 1;
  out.push(
    `## Run ${i}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`} in ${r.seconds.toFixed(0)} s; load average ${before} → ${loadavg()}`,
    '',
    ...r.lines.map((l) => `- ${l}`),
    '',
  );
}
const dir = join(root, '.scanflow', 'bench');
mkdirSync(dir, { recursive: true });
const file = join(dir, `nodes-${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
writeFileSync(file, out.join('\n'));
console.log(`\nfigures: ${file}`);
process.exit(failed > 0 ? 1 : 0);
