/**
 * The two interfaces a LoadGen run talks to, after MLPerf's: the system under test (SUT) gets
 * queries and answers each sample through `complete` (QuerySamplesComplete), and the query sample
 * library (QSL) says how many samples exist and loads the ones a run uses. The LoadGen timestamps
 * a sample when `complete` is called, so a SUT must call it as soon as the answer is there.
 */

export interface QuerySample {
  /** Unique in the run (the LoadGen's sample id); echoed back in the response. */
  id: number;
  /** Index into the QSL. */
  index: number;
}

export interface IssuedQuery {
  id: number;
  samples: QuerySample[];
  /** Which of the run's users (clients) sends it: query id modulo `users`. */
  user: number;
}

export interface SampleResponse {
  id: number;
  ok: boolean;
  /** The predicted class (accuracy mode, classifiers). */
  label?: number;
  /** Why the sample failed (status and message), when !ok. */
  error?: string;
}

export type CompleteFn = (responses: SampleResponse[]) => void;

export interface SystemUnderTest {
  readonly name: string;
  /** Must not block: start the work and call `complete` (once or in parts) when samples are answered. */
  issueQuery(query: IssuedQuery, complete: CompleteFn): void;
  /** Called once with the QSL samples the run loaded, before the first query (e.g. to encode them). */
  prepare?(indices: readonly number[]): Promise<void> | void;
  /** No more queries will come (Offline: the whole query was issued). */
  flushQueries?(): void;
  /** Stops outstanding work (cancellation) and frees connections or models. */
  close?(): Promise<void>;
}

export interface QuerySampleLibrary {
  readonly name: string;
  /** Samples in the data set. */
  readonly totalSampleCount: number;
  /** Samples that fit in memory, for performance runs (performance_sample_count). */
  readonly performanceSampleCount: number;
  /** Makes the given samples available to the SUT (called once per run, before the first query). */
  loadSamplesToRam(indices: readonly number[]): Promise<void>;
  unloadSamplesFromRam(indices: readonly number[]): Promise<void>;
  /** The true label of a sample, when known (accuracy mode). */
  label?(index: number): number | undefined;
}
