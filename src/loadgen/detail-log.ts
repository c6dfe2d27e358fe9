/**
 * The detail log of a run: one row per sample (query, QSL index, user, scheduled / issued /
 * completed time in ns from the run's origin, ok), stored column-wise so 100,000 samples are a
 * few MB of JSON. A long run writes one log per segment; the summary is computed from their
 * union, so a segment that is run again after a crash replaces its own log instead of adding to it.
 * Pure (no I/O): the activity writes it to the knowledge base.
 */
import type { TestScenario } from './settings.js';

export interface DetailLog {
  format: 'scanflow.loadgen.detail/1';
  scenario: TestScenario;
  segment: number;
  query: number[];
  sample: number[];
  user: number[];
  scheduledNs: number[];
  issuedNs: number[];
  /** -1 when the sample was never answered (the run was cancelled or it timed out). */
  completedNs: number[];
  ok: (0 | 1)[];
  /** Predicted label per sample (accuracy mode), else absent. */
  label?: number[];
  /** Failure messages and how often each occurred. */
  errors: Record<string, number>;
  /** Why issuing stopped before the schedule's end, as LoadGen logs it ("Too many outstanding queries …"). */
  endedEarly?: string;
}

export function emptyDetailLog(scenario: TestScenario, segment: number): DetailLog {
  return {
    format: 'scanflow.loadgen.detail/1',
    scenario,
    segment,
    query: [],
    sample: [],
    user: [],
    scheduledNs: [],
    issuedNs: [],
    completedNs: [],
    ok: [],
    errors: {},
  };
}

/** Concatenates segment logs in segment order; a segment present twice is kept once (the last). */
export function mergeDetailLogs(logs: readonly DetailLog[]): DetailLog {
  const bySegment = new Map<number, DetailLog>();
  for (const log of logs) bySegment.set(log.segment, log);
  const ordered = [...bySegment.values()].sort((a, b) => a.segment - b.segment);
  const first = ordered[0];
  if (!first) throw new Error('mergeDetailLogs: no logs');
  const out = emptyDetailLog(first.scenario, -1);
  const withLabels = ordered.some((l) => l.label);
  if (withLabels) out.label = [];
  for (const log of ordered) {
    const n = log.query.length;
    for (let i = 0; i < n; i++) {
      out.query.push(log.query[i] as number);
      out.sample.push(log.sample[i] as number);
      out.user.push(log.user[i] as number);
      out.scheduledNs.push(log.scheduledNs[i] as number);
      out.issuedNs.push(log.issuedNs[i] as number);
      out.completedNs.push(log.completedNs[i] as number);
      out.ok.push(log.ok[i] as 0 | 1);
      if (out.label) out.label.push(log.label?.[i] ?? -1);
    }
    for (const [message, count] of Object.entries(log.errors)) out.errors[message] = (out.errors[message] ?? 0) + count;
    out.endedEarly ??= log.endedEarly; // the run stops at the first segment that ended early
  }
  return out;
}

/** Checks the shape of a log read back from the store. */
export function validateDetailLog(value: unknown, where: string): DetailLog {
  const log = value as DetailLog;
  if (!log || log.format !== 'scanflow.loadgen.detail/1') throw new Error(`${where} is not a LoadGen detail log`);
  const n = log.query?.length;
  for (const column of ['sample', 'user', 'scheduledNs', 'issuedNs', 'completedNs', 'ok'] as const) {
    if (!Array.isArray(log[column]) || log[column].length !== n)
      throw new Error(`${where}: column ${column} does not have ${n} rows`);
  }
  return log;
}
