/**
 * Types for workflow code. The eslint rule for src/workflows|agents|spec lets them import
 * the types.js files under activities (as types), not src/platform, so the platform spec types are
 * re-exported here too:
 *   import type { PlatformActivities, OnlineWorkflowSpec } from '../activities/platform/types.js';
 *   const k8s = proxyActivities<PlatformActivities>({ ... });
 */
export type {
  PlatformActivities,
  OnlinePlatformActivities,
  BatchPlatformActivities,
  ServiceTarget,
  ExecutorTarget,
} from './index.js';
export type * from '../../platform/types.js';
