/**
 * The case study's bootstrap with a cache: V1, the detector and the held-out set are trained once
 * and kept under `<home>/cache/knowledge-<format>-seed<seed>-<digest of the bootstrap's inputs>`, so both platforms' demos start in seconds.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { LocalDirectoryStore } from '../../knowledge/local-store.js';
import type { KnowledgeStore } from '../../knowledge/types.js';
import type { MnistCaseStudy } from './case-study.js';
import { scheduleCorruptions, scheduleMaxShare, type DemoOptions } from './demo-options.js';
import type { MnistBootstrapResult } from './workflows/bootstrap.js';
import { CLASSIFIER_MODEL, DETECTOR_MODEL, HELD_OUT_KEY } from './names.js';

/** Bumped whenever the stored model or detector format changes, so a stale cache is not reused. */
export const CACHE_FORMAT = 8; // 4: detector with cross-fitted feature scores; 5: V1 trained with the batch-32 warm-up epoch; 6: V1 trained with V1_AUGMENTATION (augment.ts), cache keyed by seed and the bootstrap's inputs; 7: V1's augmentation drawn per chunk of an epoch (training-loop.ts), so other draws than 6's; 8: V1 with BatchNorm after each conv (batch-norm.ts, issue #14)

/**
 * The cache directory's name: the format plus everything the bootstrap's output depends on — the
 * seed (V1's initialisation and shuffles, the held-out set), the epochs, and the held-out set's
 * drift (the schedule's largest share and its corruptions). A run with another seed or schedule
 * trains its own V1 and held-out set instead of reusing another run's (before, the cache was keyed
 * by the format only, so `--seed 11` served seed 7's V1 and the default schedule's held-out set).
 */
export function cacheDirectoryName(
  options: Pick<DemoOptions, 'seed' | 'classifierEpochs' | 'detectorEpochs' | 'schedule'>,
): string {
  const inputs = {
    seed: options.seed,
    classifierEpochs: options.classifierEpochs,
    detectorEpochs: options.detectorEpochs,
    heldOutShare: scheduleMaxShare(options.schedule),
    heldOutCorruptions: scheduleCorruptions(options.schedule),
  };
  const digest = createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 12);
  return `knowledge-${CACHE_FORMAT}-seed${options.seed}-${digest}`;
}

/** What a bootstrap produces and later runs reuse: both registries with their artifacts, the held-out set. */
const CACHED_PREFIXES = [`models/${CLASSIFIER_MODEL}/`, `models/${DETECTOR_MODEL}/`, 'eval/'];

export async function copyPrefixes(from: KnowledgeStore, to: KnowledgeStore): Promise<number> {
  let copied = 0;
  for (const prefix of CACHED_PREFIXES) {
    for (const key of await from.list(prefix)) {
      await to.putBytes(key, await from.getBytes(key));
      copied += 1;
    }
  }
  return copied;
}

export async function cacheIsComplete(cache: KnowledgeStore): Promise<boolean> {
  for (const key of [
    `models/${CLASSIFIER_MODEL}/registry.json`,
    `models/${DETECTOR_MODEL}/registry.json`,
    HELD_OUT_KEY,
  ]) {
    if (!(await cache.exists(key))) return false;
  }
  return true;
}

/**
 * The case study's bootstrap (held-out set, V1, detector), from `<home>/cache` when a complete
 * copy of this format is there (unless `fresh`), else trained and then cached for later runs.
 * Both platforms' demos start this way.
 */
export async function bootstrapWithCache(
  study: MnistCaseStudy,
  store: KnowledgeStore,
  home: string,
  fresh: boolean,
  log: (line: string) => void,
): Promise<MnistBootstrapResult> {
  const cache = new LocalDirectoryStore(join(home, 'cache', cacheDirectoryName(study.options)));
  const cached = !fresh && (await cacheIsComplete(cache));
  if (cached) await copyPrefixes(cache, store);
  log(
    cached
      ? '[demo] baseline V1 and detector from the cache (.scanflow/cache; --fresh retrains them)'
      : '[demo] training baseline V1 on 60,000 MNIST images and the drift detector (once; cached afterwards)',
  );
  const t0 = Date.now();
  const bootstrap = await study.bootstrap();
  if (!cached) await copyPrefixes(store, cache);
  log(
    `[demo] V${bootstrap.classifier.version}: ${(100 * (bootstrap.classifier.accuracy ?? NaN)).toFixed(2)}% on MNIST test, ${(100 * (bootstrap.classifier.heldOutAccuracy ?? NaN)).toFixed(2)}% on the held-out drifted set (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
  );
  return bootstrap;
}
