/** The three experiments' options from the demo's flags (--duration, --users, --qos, --quick). */
import type { MlperfDemoOptions } from '../demo-options.js';
import { defaultAffinityOptions, type AffinityOptions } from './affinity.js';
import { defaultAutoscalingOptions, type AutoscalingOptions } from './autoscaling.js';
import { defaultFailoverOptions, type FailoverOptions } from './failover.js';

export function experimentOptions(
  d: MlperfDemoOptions,
  log: (line: string) => void,
): { autoscaling: AutoscalingOptions; affinity: AffinityOptions; failover: FailoverOptions } {
  return {
    autoscaling: {
      ...defaultAutoscalingOptions,
      duration: d.duration,
      qos: d.qos,
      users: d.users ?? defaultAutoscalingOptions.users,
      log,
    },
    affinity: {
      ...defaultAffinityOptions,
      phaseSeconds: Math.max(20, Math.round(d.duration / 4)),
      users: d.users ?? defaultAffinityOptions.users,
      log,
    },
    failover: {
      ...defaultFailoverOptions,
      normalSeconds: d.quick ? 15 : defaultFailoverOptions.normalSeconds,
      recoverySeconds: Math.max(45, Math.round(d.duration / 4)),
      users: d.users ?? defaultFailoverOptions.users,
      log,
    },
  };
}
