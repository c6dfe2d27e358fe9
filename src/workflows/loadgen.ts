/**
 * MLPerf load generation as a (child) workflow: `loadgenWorkflow` runs a LoadGen test against a
 * SUT and returns its summary (mlperf_log_summary.txt fields) and the knowledge-base keys of the
 * detail logs. Agents and other workflows start it as a child; the CLI starts it directly.
 *
 * The inference queries never become workflow events: a run is a few segments (default 60 s of
 * run time each), each one heartbeating activity on the ML task queue that issues its queries and
 * writes its own detail log; the history holds one activity per segment and the summary step.
 * A worker that dies mid-segment loses only that segment: the retry runs it again from its start
 * and replaces its log, so no query is counted twice. Cancelling the workflow cancels the running
 * segment, which stops its load at its next heartbeat (the heartbeat timeout is 1.25 s, so the
 * worker sends one at least every second).
 *
 *   workflow id   scanflow.loadgen.<run>        search attribute ScanflowKind = 'loadgen'
 *   query         progress → LoadgenProgress (segments done; the live counts of the running
 *                 segment are its heartbeat details: see src/loadgen/client.ts)
 */
import {
  ActivityCancellationType,
  defineQuery,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  LoadgenActivities,
  LoadgenSummary,
  QslSpec,
  Segment,
  SutSpec,
  TestSettingsInput,
} from '../activities/loadgen/types.js';
import { ScanflowKind, TaskQueues } from '../agents/conventions.js';

export const LOADGEN_WORKFLOW_ID_PREFIX = 'scanflow.loadgen';
export const LOADGEN_KIND = 'loadgen';

/** scanflow.loadgen.<run> */
export function loadgenWorkflowId(run: string): string {
  return `${LOADGEN_WORKFLOW_ID_PREFIX}.${run}`;
}

export interface LoadgenWorkflowInput {
  settings: TestSettingsInput;
  sut: SutSpec;
  qsl?: QslSpec;
  /** Run time per segment (default 60 s). */
  segmentSeconds?: number;
  /** Task queue of the segment activities (default scanflow-ml). */
  activityTaskQueue?: string;
  /** Knowledge-base prefix of the logs (default loadgen/<run>). */
  prefix?: string;
}

export interface LoadgenProgress {
  run: string;
  phase: 'running' | 'summarizing' | 'done';
  segmentsCompleted: number;
  /** The segment running now (when phase = running). */
  currentSegment?: Segment;
  /** Through the last completed segment. */
  queriesIssued: number;
  samples: number;
  samplesFailed: number;
  lastSegmentP99Ns: number;
  result?: 'VALID' | 'INVALID';
}

export interface LoadgenWorkflowResult {
  run: string;
  summary: LoadgenSummary;
  /** mlperf_log_summary.txt */
  text: string;
  summaryKey: string;
  textKey: string;
  detailLogKeys: string[];
}

export const loadgenProgressQuery = defineQuery<LoadgenProgress>('progress');

/** The run name: the workflow id without its prefix. */
function runName(): string {
  const id = workflowInfo().workflowId;
  return id.startsWith(`${LOADGEN_WORKFLOW_ID_PREFIX}.`) ? id.slice(LOADGEN_WORKFLOW_ID_PREFIX.length + 1) : id;
}

export async function loadgenWorkflow(input: LoadgenWorkflowInput): Promise<LoadgenWorkflowResult> {
  const run = runName();
  if (workflowInfo().typedSearchAttributes.get(ScanflowKind) !== LOADGEN_KIND)
    upsertSearchAttributes([{ key: ScanflowKind, value: LOADGEN_KIND }]);
  const taskQueue = input.activityTaskQueue ?? TaskQueues.ml;
  const segments = proxyActivities<LoadgenActivities>({
    taskQueue,
    startToCloseTimeout: '2 hours',
    // A live worker heartbeats every 250 ms; the SDK forwards one at least every 0.8 × 1.25 s, which
    // is also how soon a cancellation reaches the segment. A dead worker is noticed in 1.25 s.
    heartbeatTimeout: '1250 milliseconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 10 },
  });
  const summarizer = proxyActivities<LoadgenActivities>({
    taskQueue,
    startToCloseTimeout: '10 minutes',
    retry: { initialInterval: '1 second', maximumAttempts: 5 },
  });
  const segmentNs = (input.segmentSeconds ?? 60) * 1e9;
  const prefix = input.prefix ?? `loadgen/${run}`;
  const progress: LoadgenProgress = {
    run,
    phase: 'running',
    segmentsCompleted: 0,
    queriesIssued: 0,
    samples: 0,
    samplesFailed: 0,
    lastSegmentP99Ns: 0,
  };
  setHandler(loadgenProgressQuery, () => progress);

  const detailLogKeys: string[] = [];
  let segment: Segment = { index: 0, fromNs: 0, toNs: segmentNs, firstQuery: 0 };
  let sutName = '';
  for (;;) {
    progress.currentSegment = segment;
    const detailLogKey = `${prefix}/detail/segment-${String(segment.index).padStart(4, '0')}.json`;
    const done = await segments.runLoadgenSegment({
      run,
      settings: input.settings,
      sut: input.sut,
      qsl: input.qsl,
      segment,
      detailLogKey,
    });
    detailLogKeys.push(detailLogKey);
    sutName = done.sutName;
    progress.segmentsCompleted += 1;
    progress.queriesIssued = done.queriesIssued;
    progress.samples += done.samples;
    progress.samplesFailed += done.samplesFailed;
    progress.lastSegmentP99Ns = done.p99Ns;
    if (done.done) break;
    segment = { ...done.next, toNs: done.next.fromNs + segmentNs };
  }
  progress.currentSegment = undefined;
  progress.phase = 'summarizing';
  const summary = await summarizer.summarizeLoadgen({
    run,
    settings: input.settings,
    sutName,
    qsl: input.qsl,
    detailLogKeys,
    prefix,
  });
  progress.phase = 'done';
  progress.result = summary.summary.result;
  return { run, ...summary, detailLogKeys };
}
