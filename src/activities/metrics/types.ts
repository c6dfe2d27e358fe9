/** Types for workflow code (import type only): the Prometheus sensors' names and results. */
export type { MetricsActivities } from './metrics-activities.js';
export type { InstantResult, RangeResult, PrometheusSettings } from './prometheus.js';
