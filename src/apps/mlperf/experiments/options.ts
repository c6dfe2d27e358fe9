/** The three experiments' options from the demo's flags (--duration, --users, --qos, --rounds, --quick). */
import type { MlperfDemoOptions } from '../demo-options.js';
import { defaultAffinityOptions, type AffinityOptions } from './affinity.js';
import { defaultAutoscalingOptions, type AutoscalingOptions } from './autoscaling.js';
import { defaultFailoverOptions, type FailoverOptions } from './failover.js';

/** What every experiment takes from the flags the same way: its defaults, --users when given, the log. */
function common<T extends { users: number }>(
  defaults: T,
  d: MlperfDemoOptions,
  log: (line: string) => void,
): T & { log: (line: string) => void } {
  return { ...defaults, users: d.users ?? defaults.users, log };
}

export function experimentOptions(
  d: MlperfDemoOptions,
  log: (line: string) => void,
): { autoscaling: AutoscalingOptions; affinity: AffinityOptions; failover: FailoverOptions } {
  return {
    autoscaling: {
      ...common(defaultAutoscalingOptions, d, log),
      duration: d.duration,
      qos: d.qos,
      rounds: d.rounds,
      // A full run adds KEDA fixed at the tuner's target for a smooth load (75 % of the requirement:
      // what it would keep without a surge in memory), to show what the headroom adds; --quick does not.
      kedaThresholds: d.quick ? [] : [Math.round(d.qos * 0.75 * 10) / 10],
    },
    affinity: { ...common(defaultAffinityOptions, d, log), phaseSeconds: Math.max(20, Math.round(d.duration / 4)) },
    failover: {
      ...common(defaultFailoverOptions, d, log),
      normalSeconds: d.quick ? 15 : defaultFailoverOptions.normalSeconds,
      recoverySeconds: Math.max(45, Math.round(d.duration / 4)),
    },
  };
}
