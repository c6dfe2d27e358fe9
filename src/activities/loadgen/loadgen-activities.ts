/**
 * LoadGen as activities: `runLoadgenSegment` runs one segment of a run (the inference queries
 * never touch Temporal: they live inside this activity), heartbeats its progress every 250 ms
 * and stops within the heartbeat interval when cancelled; its detail log goes to the knowledge
 * base under a key fixed by the segment, so a segment run again after a crash replaces its log.
 * `summarizeLoadgen` reads the segments' logs and writes the summary.
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { mergeDetailLogs, validateDetailLog, type DetailLog } from '../../loadgen/detail-log.js';
import { ImageQsl, SyntheticQsl, type QslImages } from '../../loadgen/qsl.js';
import { runLoadgen, type Progress } from '../../loadgen/run.js';
import { LoadgenSettingsError, resolveSettings, type TestSettings } from '../../loadgen/settings.js';
import { computeSummary, formatSummary } from '../../loadgen/summary.js';
import type { QuerySampleLibrary, SystemUnderTest } from '../../loadgen/sut.js';
import { FixedDelaySut, NullSut } from '../../loadgen/suts/fixed-delay.js';
import { HttpOipSut } from '../../loadgen/suts/http-oip.js';
import type { KnowledgeStore } from '../../knowledge/types.js';
import { beat } from '../support.js';
import type {
  LoadgenActivities,
  LoadgenSegmentInput,
  LoadgenSegmentResult,
  LoadgenSummarizeInput,
  LoadgenSummarizeResult,
  QslSpec,
  SutSpec,
} from './types.js';

export interface LoadgenActivityDeps {
  store: KnowledgeStore;
  /** Heartbeat / progress interval (default 250 ms). */
  progressIntervalMs?: number;
}

function settingsOf(input: { settings: unknown }): TestSettings {
  try {
    return resolveSettings(input.settings as never);
  } catch (err) {
    if (err instanceof LoadgenSettingsError) throw ApplicationFailure.nonRetryable(err.message, 'InvalidInput');
    throw err;
  }
}

function context(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called directly (tests, CLI)
  }
}

/** QSLs are loaded once per worker process (MNIST test: 10,000 images, 31 MB). */
const qslCache = new Map<string, Promise<QuerySampleLibrary>>();

export async function openQsl(
  store: KnowledgeStore,
  spec: QslSpec | undefined,
  sut: SutSpec,
): Promise<QuerySampleLibrary> {
  const chosen: QslSpec =
    spec ?? (sut.kind === 'http' || sut.kind === 'tfjs' ? { kind: 'mnist-test' } : { kind: 'synthetic' });
  const key = JSON.stringify(chosen);
  let qsl = qslCache.get(key);
  if (!qsl) {
    qsl = (async (): Promise<QuerySampleLibrary> => {
      switch (chosen.kind) {
        case 'synthetic':
          return new SyntheticQsl(chosen.count ?? 1024);
        case 'mnist-test': {
          const { loadMnist } = await import('../../ml/mnist.js');
          return new ImageQsl('mnist-test', loadMnist('test') as QslImages, chosen.performanceSampleCount);
        }
        case 'image-set': {
          const { getImageSet } = await import('../../knowledge/image-set.js');
          return new ImageQsl(
            chosen.key,
            (await getImageSet(store, chosen.key)) as QslImages,
            chosen.performanceSampleCount,
          );
        }
        default:
          throw ApplicationFailure.nonRetryable(
            `loadgen: unknown QSL kind ${JSON.stringify((chosen as { kind: unknown }).kind)}`,
            'InvalidInput',
          );
      }
    })();
    qslCache.set(key, qsl);
    qsl.catch(() => qslCache.delete(key));
  }
  return qsl;
}

export async function openSut(
  store: KnowledgeStore,
  spec: SutSpec,
  qsl: QuerySampleLibrary,
  settings: TestSettings,
): Promise<SystemUnderTest> {
  switch (spec?.kind) {
    case 'null':
      return new NullSut();
    case 'fixed-delay':
      return new FixedDelaySut({ delayMs: spec.delayMs, concurrency: spec.concurrency });
    case 'http':
      if (!(qsl instanceof ImageQsl || qsl instanceof SyntheticQsl))
        throw ApplicationFailure.nonRetryable(
          'loadgen: an http SUT needs an image QSL (mnist-test, image-set) or the synthetic one',
          'InvalidInput',
        );
      try {
        return new HttpOipSut({ ...spec, qsl, users: settings.users, labels: settings.mode === 'AccuracyOnly' });
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidInput');
      }
    case 'tfjs': {
      if (!(qsl instanceof ImageQsl))
        throw ApplicationFailure.nonRetryable(
          'loadgen: a tfjs SUT needs an image QSL (mnist-test or image-set)',
          'InvalidInput',
        );
      const [{ ModelRegistry }, { TfjsModelSut }] = await Promise.all([
        import('../../knowledge/model-registry.js'),
        import('../../loadgen/suts/tfjs-model.js'),
      ]);
      const registry = new ModelRegistry(store, spec.model);
      const version = spec.version ?? (await registry.production())?.version;
      if (version === undefined)
        throw ApplicationFailure.nonRetryable(`loadgen: model ${spec.model} has no production version`, 'NotFound');
      const model = await registry.loadModel(version);
      return new TfjsModelSut({ model, qsl, maxBatch: spec.maxBatch, name: `tfjs ${spec.model} v${version}` });
    }
    default:
      throw ApplicationFailure.nonRetryable(
        `loadgen: sut.kind must be http, tfjs, fixed-delay or null, got ${JSON.stringify((spec as { kind?: unknown })?.kind)}`,
        'InvalidInput',
      );
  }
}

export function createLoadgenActivities(deps: LoadgenActivityDeps): LoadgenActivities {
  const { store } = deps;
  return {
    async runLoadgenSegment(input: LoadgenSegmentInput): Promise<LoadgenSegmentResult> {
      const settings = settingsOf(input);
      const ctx = context();
      const qsl = await openQsl(store, input.qsl, input.sut);
      const sut = await openSut(store, input.sut, qsl, settings);
      let last: Progress | undefined;
      try {
        const result = await runLoadgen({
          settings,
          sut,
          qsl,
          segment: input.segment,
          signal: ctx?.cancellationSignal,
          progressIntervalMs: deps.progressIntervalMs ?? 250,
          onProgress: (p) => {
            last = p;
            beat(p);
          },
        });
        if (result.cancelled) {
          if (ctx) throw new CancelledFailure('loadgen segment cancelled');
        }
        await store.putJson(input.detailLogKey, result.log);
        return {
          segment: input.segment.index,
          done: result.done,
          next: result.next,
          sutName: sut.name,
          queriesIssued: input.segment.firstQuery + new Set(result.log.query).size,
          samples: result.log.query.length,
          samplesFailed: result.log.ok.filter((ok) => ok !== 1).length,
          p99Ns: last?.p99Ns ?? 0,
          detailLogKey: input.detailLogKey,
        };
      } finally {
        await sut.close?.();
      }
    },

    async summarizeLoadgen(input: LoadgenSummarizeInput): Promise<LoadgenSummarizeResult> {
      const settings = settingsOf(input);
      const logs: DetailLog[] = [];
      for (const key of input.detailLogKeys) logs.push(validateDetailLog(await store.getJson(key), key));
      const merged = mergeDetailLogs(logs);
      let labelOf: ((index: number) => number | undefined) | undefined;
      if (settings.mode === 'AccuracyOnly' && input.qsl && input.qsl.kind !== 'synthetic') {
        const qsl = await openQsl(store, input.qsl, { kind: 'null' });
        labelOf = (i) => qsl.label?.(i);
      }
      const summary = computeSummary(merged, settings, input.sutName, labelOf);
      const text = formatSummary(summary);
      const summaryKey = `${input.prefix}/summary.json`;
      const textKey = `${input.prefix}/mlperf_log_summary.txt`;
      await store.putJson(summaryKey, summary);
      await store.putBytes(textKey, new TextEncoder().encode(text), 'text/plain');
      return { summary, text, summaryKey, textKey };
    },
  };
}
