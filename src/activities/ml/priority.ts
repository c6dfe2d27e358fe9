/**
 * Training must not starve serving on one machine (the local platform runs the model server as
 * processes beside this worker): a training activity lowers this worker process's JavaScript
 * thread (which runs each eager TensorFlow op) and TensorFlow's compute threads (`tf_Compute*`,
 * its intra-op pool) to nice SCANFLOW_TRAINING_NICE (default 10: about a tenth of a normal
 * thread's CPU share under contention, all of it when the CPU is idle). Measured (bench/ml.ts
 * --serving-priority, two runs): a model server's p99 at 100 req/s went from 25–37 ms idle to 45–48
 * ms during a retrain at normal priority, and 29–36 ms with this; lowering only TensorFlow's
 * threads did not help (46–114 ms). The process stays lowered afterwards (raising priority again needs privilege):
 * run ML work in its own worker process (SCANFLOW_WORKER_ROLES=ml), as the Deployments of
 * deploy/worker do; on Kubernetes the CPU share is the Deployment's resources.
 * SCANFLOW_TRAINING_NICE=0 turns it off. Linux only (elsewhere: nothing).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

export function trainingNice(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SCANFLOW_TRAINING_NICE;
  const n = raw === undefined || raw === '' ? 10 : Number(raw);
  return Number.isInteger(n) && n >= 0 && n <= 19 ? n : 10;
}

/**
 * Renices the calling (JavaScript) thread and TensorFlow's compute threads; returns how many
 * threads were lowered (0 when off, already lowered, or not Linux).
 */
export function lowerTrainingPriority(nice = trainingNice()): number {
  if (nice === 0 || process.platform !== 'linux') return 0;
  let lowered = 0;
  try {
    // pid 0: on Linux the calling thread only (the event loop's thread, which runs the eager ops).
    if (getPriority(0) < nice) {
      setPriority(0, nice);
      lowered += 1;
    }
  } catch {
    // Refused: training runs as before.
  }
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  for (const tid of tasks) {
    try {
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      if (!name.startsWith('tf_')) continue;
      if (getPriority(Number(tid)) >= nice) continue;
      setPriority(Number(tid), nice);
      lowered += 1;
    } catch {
      // A thread that ended meanwhile, or a platform that refuses: training runs as before.
    }
  }
  return lowered;
}
