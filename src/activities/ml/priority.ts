/**
 * Training must not starve serving on one machine (the local platform runs the model server as
 * processes beside this worker): before a training activity, TensorFlow's compute threads of this
 * process (`tf_Compute*`, its intra-op pool) are lowered to nice SCANFLOW_TRAINING_NICE (default
 * 10: about a tenth of a normal thread's CPU share under contention, all of it when the CPU is
 * idle). Lowering priority needs no privilege. The JavaScript thread, which also runs part of each
 * eager op, keeps its priority: it serves the Temporal worker and the agents too. On Kubernetes the
 * training activity's CPU share is the worker Deployment's resources (deploy/worker).
 * SCANFLOW_TRAINING_NICE=0 turns it off. Linux only (elsewhere: nothing).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

export function trainingNice(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SCANFLOW_TRAINING_NICE;
  const n = raw === undefined || raw === '' ? 10 : Number(raw);
  return Number.isInteger(n) && n >= 0 && n <= 19 ? n : 10;
}

/** Renices TensorFlow's compute threads; returns how many were lowered (0 when off or not Linux). */
export function lowerTrainingPriority(nice = trainingNice()): number {
  if (nice === 0 || process.platform !== 'linux') return 0;
  let lowered = 0;
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
