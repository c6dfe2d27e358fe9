/**
 * The labelling oracle of the case study, kept in the knowledge store so any worker can use it:
 * the traffic generator records the true label of every image it emits (`oracle/truth/…`), with
 * the fingerprint of the image's pixels, and labelling requests spend a budget held in
 * `oracle/budget.json`. A real deployment replaces it with people; the budget is what makes the
 * comparison with the paper honest.
 *
 * Why fingerprints: the samples to label come from the prediction log, where their id is the
 * `sample_ids` a client sent. A client could send other pixels under a real stream id and have
 * them labelled with that sample's true label (label poisoning). So a sample is joined with the
 * oracle's label only when its pixels are the ones the oracle emitted under that id (same
 * fingerprint); any other is not joined, costs no budget, and is recorded under
 * `oracle/rejected/` (see rejectionSummary) and returned to the caller.
 */
import { imageFingerprints } from '../../knowledge/fingerprint.js';
import { KnowledgeError, type KnowledgeStore } from '../../knowledge/types.js';
import { subset } from '../../ml/mnist.js';
import type { ImageSet } from '../../ml/types.js';

export interface OracleBudget {
  budget: number;
  used: number;
}

interface TruthDocument {
  batchKey: string;
  truth: Record<string, number>;
  /** Pixel fingerprint of each id (fingerprint.ts); absent in documents written before them. */
  fingerprints?: Record<string, string>;
}

/** Why a sample was not joined with a label. */
export type RejectReason = 'pixels-mismatch' | 'unknown-id' | 'no-fingerprint';

export interface RejectedSample {
  id: string;
  reason: RejectReason;
  /** Fingerprint of the pixels that came with the id (to find the same image again). */
  fingerprint: string;
}

export interface RejectionSummary {
  /** Distinct (id, pixels) pairs refused, over every labelling call so far. */
  total: number;
  byReason: Record<RejectReason, number>;
  /** The labelling calls that refused something (their source key) and how many each. */
  sources: Array<{ source: string; count: number; at: string }>;
}

const BUDGET_KEY = 'oracle/budget.json';
const REJECTED_PREFIX = 'oracle/rejected/';

export function truthKey(batchKey: string): string {
  return `oracle/truth/${batchKey.replace(/\//g, '_')}.json`;
}

/**
 * Records the true labels of a batch the stream emitted; with `images` (the emitted pixels, in
 * the order of `ids`), their fingerprints too, so labelling can check a sample's pixels.
 */
export async function recordTruth(
  store: KnowledgeStore,
  batchKey: string,
  ids: readonly string[],
  labels: ArrayLike<number>,
  images?: Pick<ImageSet, 'count' | 'height' | 'width' | 'pixels'>,
): Promise<void> {
  const truth: Record<string, number> = {};
  ids.forEach((id, i) => (truth[id] = labels[i] ?? -1));
  const doc: TruthDocument = { batchKey, truth };
  if (images) {
    if (images.count !== ids.length)
      throw new KnowledgeError('InvalidInput', `recordTruth: ${images.count} images for ${ids.length} ids`);
    const prints = imageFingerprints(images.pixels, images.count, images.height * images.width);
    doc.fingerprints = Object.fromEntries(ids.map((id, i) => [id, prints[i] ?? '']));
  }
  await store.putJson(truthKey(batchKey), doc);
}

export async function setBudget(store: KnowledgeStore, budget: number): Promise<OracleBudget> {
  if (!Number.isInteger(budget) || budget < 0)
    throw new KnowledgeError('InvalidInput', `label budget must be a non-negative integer, got ${budget}`);
  const current = (await store.exists(BUDGET_KEY))
    ? await store.getJson<OracleBudget>(BUDGET_KEY)
    : { budget: 0, used: 0 };
  const next = { budget, used: current.used };
  await store.putJson(BUDGET_KEY, next);
  return next;
}

export async function getBudget(store: KnowledgeStore): Promise<OracleBudget> {
  return (await store.exists(BUDGET_KEY)) ? store.getJson<OracleBudget>(BUDGET_KEY) : { budget: 0, used: 0 };
}

/**
 * The truth of the recorded batches `batchKeys`, by id. A batch with no record is skipped: its
 * key may come from a client-supplied id (`b99999-0`), and one bad id must not fail the call.
 */
async function loadTruth(store: KnowledgeStore, batchKeys: readonly string[]): Promise<Truth> {
  const truth: Truth = new Map();
  for (const key of new Set(batchKeys)) {
    if (!(await store.exists(truthKey(key)))) continue;
    const doc = await store.getJson<TruthDocument>(truthKey(key));
    for (const [id, label] of Object.entries(doc.truth ?? {}))
      truth.set(id, { label, fingerprint: doc.fingerprints?.[id] });
  }
  return truth;
}

async function spend(store: KnowledgeStore, count: number): Promise<void> {
  const budget = await getBudget(store);
  if (count > budget.budget - budget.used) {
    throw new KnowledgeError(
      'RegistryRule',
      `label budget exceeded: asked for ${count} labels, ${budget.budget - budget.used} of ${budget.budget} left`,
    );
  }
  await store.putJson(BUDGET_KEY, { budget: budget.budget, used: budget.used + count });
}

/**
 * True labels of `ids` whose pixels were already checked against the oracle (checkSamples): the
 * evaluation samples set aside by sampleForEvaluation. Spends one unit of budget per id, and
 * refuses the whole request when the budget cannot cover it or an id has no recorded label.
 */
export async function labelIds(
  store: KnowledgeStore,
  batchKeys: readonly string[],
  ids: readonly string[],
): Promise<Int32Array> {
  const budget = await getBudget(store);
  if (ids.length > budget.budget - budget.used) {
    throw new KnowledgeError(
      'RegistryRule',
      `label budget exceeded: asked for ${ids.length} labels, ${budget.budget - budget.used} of ${budget.budget} left`,
    );
  }
  const truth = await loadTruth(store, batchKeys);
  const labels = Int32Array.from(ids, (id) => {
    const label = truth.get(id)?.label;
    if (label === undefined)
      throw new KnowledgeError(
        'NotFound',
        `the oracle has no label for image ${id} (searched ${batchKeys.join(', ')})`,
      );
    return label;
  });
  await spend(store, ids.length);
  return labels;
}

type Truth = Map<string, { label: number; fingerprint?: string }>;

function judge(truth: Truth, images: ImageSet): { accepted: number[]; rejected: RejectedSample[] } {
  if (!images.ids || images.ids.length !== images.count)
    throw new KnowledgeError('Corrupt', 'the images to label have no ids: the oracle labels images by id');
  const prints = imageFingerprints(images.pixels, images.count, images.height * images.width);
  const accepted: number[] = [];
  const rejected: RejectedSample[] = [];
  images.ids.forEach((id, i) => {
    const fingerprint = prints[i] ?? '';
    const known = truth.get(id);
    const reason: RejectReason | undefined = !known
      ? 'unknown-id'
      : known.fingerprint === undefined
        ? 'no-fingerprint'
        : known.fingerprint !== fingerprint
          ? 'pixels-mismatch'
          : undefined;
    if (reason) rejected.push({ id, reason, fingerprint });
    else accepted.push(i);
  });
  return { accepted, rejected };
}

const rejectionKey = (source: string): string => `${REJECTED_PREFIX}${source.replace(/[^A-Za-z0-9._=-]+/g, '_')}.json`;

/** How many samples the step `source` had refused (0 when none), e.g. for a retried step that finds its output. */
export async function rejectedBy(store: KnowledgeStore, source: string): Promise<number> {
  if (!(await store.exists(rejectionKey(source)))) return 0;
  return (await store.getJson<{ rejected?: unknown[] }>(rejectionKey(source))).rejected?.length ?? 0;
}

/** One document per calling step (`source`, stable across its retries): rewriting it is idempotent. */
async function recordRejections(
  store: KnowledgeStore,
  source: string,
  batchKeys: readonly string[],
  rejected: RejectedSample[],
): Promise<void> {
  if (rejected.length === 0) return;
  await store.putJson(rejectionKey(source), {
    source,
    at: new Date().toISOString(),
    batchKeys,
    rejected,
  });
}

/**
 * Which images of `images` are the oracle's own samples: the id is recorded in `batchKeys` and the
 * pixels have the recorded fingerprint. The others are returned with the reason and recorded
 * under oracle/rejected/ as refused by `source` (a key naming the calling step).
 */
export async function checkSamples(
  store: KnowledgeStore,
  batchKeys: readonly string[],
  images: ImageSet,
  source: string,
): Promise<{ accepted: number[]; rejected: RejectedSample[] }> {
  const verdict = judge(await loadTruth(store, batchKeys), images);
  await recordRejections(store, source, batchKeys, verdict.rejected);
  return verdict;
}

/**
 * True labels for the images of `images` that checkSamples accepts, as a labelled image set (the
 * accepted images only, in order); one unit of budget per accepted image, none for the refused
 * ones, the whole request refused when the budget cannot cover it.
 */
export async function labelImages(
  store: KnowledgeStore,
  batchKeys: readonly string[],
  images: ImageSet,
  source: string,
): Promise<{ labelled: ImageSet; rejected: RejectedSample[] }> {
  const truth = await loadTruth(store, batchKeys);
  const { accepted, rejected } = judge(truth, images);
  await recordRejections(store, source, batchKeys, rejected);
  const labelled = subset(images, accepted);
  labelled.labels = Int32Array.from(labelled.ids ?? [], (id) => truth.get(id)?.label ?? -1);
  if (accepted.length > 0) await spend(store, accepted.length);
  return { labelled, rejected };
}

/** What the oracle refused so far, over every labelling call (distinct id + pixels pairs). */
export async function rejectionSummary(store: KnowledgeStore): Promise<RejectionSummary> {
  const keys = (await store.list(REJECTED_PREFIX)).filter((k) => k.endsWith('.json')).sort();
  const seen = new Map<string, RejectReason>();
  const sources: RejectionSummary['sources'] = [];
  for (const key of keys) {
    const doc = await store.getJson<{ source: string; at: string; rejected: RejectedSample[] }>(key);
    for (const r of doc.rejected ?? []) seen.set(`${r.id}\u0000${r.fingerprint}`, r.reason);
    sources.push({ source: doc.source, count: doc.rejected?.length ?? 0, at: doc.at });
  }
  const byReason: Record<RejectReason, number> = { 'pixels-mismatch': 0, 'unknown-id': 0, 'no-fingerprint': 0 };
  for (const reason of seen.values()) byReason[reason] += 1;
  return { total: seen.size, byReason, sources };
}
