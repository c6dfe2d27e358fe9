/**
 * The MLPerf infrastructure study as an app: its planners' decision modules run on the agents'
 * task queue beside the Prometheus sensors (src/activities/metrics) and call the platform
 * primitives on the kubernetes task queue. No workflows of its own (yet).
 */
import type { ScanflowAppModule } from '../../../workers/app.js';
import { createMlperfAppActivities } from './activities.js';
import { MLPERF_APP } from './names.js';

export const mlperfApp: ScanflowAppModule = {
  name: MLPERF_APP,
  activities: { agents: () => createMlperfAppActivities() },
};
