/**
 * Options of `npm run demo:mlperf` (`scanflow demo mlperf`): the infrastructure experiments of
 * the paper (Figs. 8–11) on two real one-CPU nodes, with errors that name the flag.
 */
import { parseArgs } from 'node:util';

export const EXPERIMENTS = ['autoscaling', 'affinity', 'failover'] as const;
export type ExperimentName = (typeof EXPERIMENTS)[number];

export interface MlperfDemoOptions {
  /** Seconds of each autoscaling run (one per setting) and the scale of the other experiments' phases. */
  duration: number;
  /** LoadGen users; undefined: each experiment's own (autoscaling 100, affinity 50, fail-over 200). */
  users?: number;
  /** The end user's QoS requirement: answered queries/s per replica below this. */
  qos: number;
  quick: boolean;
  /** Interleaved runs of every autoscaling setting (a repetition in the same run, same machine). */
  rounds: number;
  only: ExperimentName[];
  runDir?: string;
}

export const usage = `usage: npm run demo:mlperf -- [options]      (scanflow demo mlperf [options])

  --duration S     seconds of each autoscaling run (5 runs: 3 CPU thresholds, the agent, KEDA fixed
                   at 75 % of the requirement; --quick: the first 4), and the
                   length of the other experiments' phases scaled from it (default 240; --quick 90)
  --users N        LoadGen users of every experiment (default: 100 autoscaling, 50 anti-affinity,
                   200 fail-over, as in the paper)
  --qos Q          QoS requirement of the tuner: answered queries/s per replica < Q (default 20)
  --rounds N       run every autoscaling setting N times, interleaved (20, 50, 80, agent, KEDA, 20, …),
                   to see that a result holds under the machine's drifting load (default 1)
  --quick          a few minutes in all: short runs (CI)
  --only LIST      some of autoscaling,affinity,failover (default all three)
  --run-dir DIR    where the report, charts and logs go (default .scanflow/demo-mlperf/<time>)

Starts everything itself: Temporal dev server (free ports), a cluster with 2 real one-CPU nodes
running the project's image, Prometheus, the workers. Needs root and 'bash scripts/provision nodes';
queues behind another real-node cluster for SCANFLOW_NODES_WAIT_SECONDS.`;

function num(flag: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${flag} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

export function parseMlperfDemoOptions(argv: string[]): MlperfDemoOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      users: { type: 'string' },
      qos: { type: 'string' },
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      only: { type: 'string' },
      'run-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const quick = values.quick ?? false;
  const rounds = num('--rounds', values.rounds, 1, 1);
  if (!Number.isInteger(rounds)) throw new Error(`--rounds must be an integer, got ${values.rounds}`);
  const users = values.users === undefined ? undefined : num('--users', values.users, 1, 1);
  if (users !== undefined && !Number.isInteger(users))
    throw new Error(`--users must be an integer, got ${values.users}`);
  const only = (values.only ?? EXPERIMENTS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const x of only)
    if (!(EXPERIMENTS as readonly string[]).includes(x))
      throw new Error(`--only: unknown experiment ${JSON.stringify(x)} (known: ${EXPERIMENTS.join(', ')})`);
  return {
    duration: num('--duration', values.duration, quick ? 90 : 240, 30),
    ...(users !== undefined ? { users } : {}),
    qos: num('--qos', values.qos, 20, 0.1),
    quick,
    rounds,
    only: only as ExperimentName[],
    ...(values['run-dir'] ? { runDir: values['run-dir'] } : {}),
  };
}
