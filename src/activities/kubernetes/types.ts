/**
 * Activity types for workflow code (`import type { PlatformActivities } from
 * '../activities/kubernetes/types.js'`): the eslint rule lets workflows import activities/**
 * /types.js files. Use with proxyActivities<PlatformActivities>(…).
 */
export type { PlatformActivities, ServiceTarget, ExecutorTarget } from './index.js';
