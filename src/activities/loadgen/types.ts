/**
 * The contract between the LoadGen workflow and its activities (type-only: workflow code imports
 * it with `import type`). A run is segments of one heartbeating activity each, then a summary.
 */
import type { Progress, Segment } from '../../loadgen/run.js';
import type { LoadgenSummary } from '../../loadgen/summary.js';
import type { TestSettingsInput } from '../../loadgen/settings.js';

export type { Progress, Segment, LoadgenSummary, TestSettingsInput };

/** Where the queries go. */
export type SutSpec =
  /** An Open Inference Protocol v2 server: the model server, the local router, a Kubernetes Service. */
  | {
      kind: 'http';
      url: string;
      model: string;
      version?: string;
      batchSize?: number;
      maxInFlight?: number;
      timeoutMs?: number;
    }
  /** The registry's model in the worker process on native TensorFlow (production version unless given). */
  | { kind: 'tfjs'; model: string; version?: number; maxBatch?: number }
  /** Every sample answered delayMs after it enters service, `concurrency` at a time. */
  | { kind: 'fixed-delay'; delayMs: number; concurrency?: number }
  /** Answers at once: measures the generator. */
  | { kind: 'null' };

/** Where the samples come from (loaded once per worker process). */
export type QslSpec =
  | { kind: 'mnist-test'; performanceSampleCount?: number }
  | { kind: 'image-set'; key: string; performanceSampleCount?: number }
  | { kind: 'synthetic'; count?: number };

export interface LoadgenSegmentInput {
  run: string;
  settings: TestSettingsInput;
  sut: SutSpec;
  qsl?: QslSpec;
  segment: Segment;
  /** Knowledge-base key of this segment's detail log. */
  detailLogKey: string;
}

export interface LoadgenSegmentResult {
  segment: number;
  done: boolean;
  next: Segment;
  sutName: string;
  /** Counted from the start of the run. */
  queriesIssued: number;
  samples: number;
  samplesFailed: number;
  p99Ns: number;
  detailLogKey: string;
}

export interface LoadgenSummarizeInput {
  run: string;
  settings: TestSettingsInput;
  sutName: string;
  qsl?: QslSpec;
  detailLogKeys: string[];
  /** Where the summary goes: `<prefix>/summary.json` and `<prefix>/mlperf_log_summary.txt`. */
  prefix: string;
}

export interface LoadgenSummarizeResult {
  summary: LoadgenSummary;
  /** mlperf_log_summary.txt */
  text: string;
  summaryKey: string;
  textKey: string;
}

/** What a segment reports in its heartbeat details (every 250 ms). */
export type LoadgenHeartbeat = Progress;

export interface LoadgenActivities {
  runLoadgenSegment(input: LoadgenSegmentInput): Promise<LoadgenSegmentResult>;
  summarizeLoadgen(input: LoadgenSummarizeInput): Promise<LoadgenSummarizeResult>;
}
