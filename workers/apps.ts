/** The apps this worker serves (their workflows are exported by ./workflows.ts). */
import type { ScanflowAppModule } from './app.js';
import { mnistApp } from '../src/apps/mnist/app.js';
import { mlperfApp } from '../src/apps/mlperf/app.js';

export const installedApps: readonly ScanflowAppModule[] = [mnistApp, mlperfApp];
