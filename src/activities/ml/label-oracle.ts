/**
 * The labelling oracle of the case study, kept in the knowledge store so any worker can use it:
 * the traffic generator records the true label of every image it emits (`oracle/truth/…`), and
 * labelling requests spend a budget held in `oracle/budget.json`. A real deployment replaces it
 * with people; the budget is what makes the comparison with the paper honest.
 */
import { KnowledgeError, type KnowledgeStore } from '../../knowledge/types.js';

export interface OracleBudget {
  budget: number;
  used: number;
}

const BUDGET_KEY = 'oracle/budget.json';

export function truthKey(batchKey: string): string {
  return `oracle/truth/${batchKey.replace(/\//g, '_')}.json`;
}

export async function recordTruth(
  store: KnowledgeStore,
  batchKey: string,
  ids: readonly string[],
  labels: ArrayLike<number>,
): Promise<void> {
  const truth: Record<string, number> = {};
  ids.forEach((id, i) => (truth[id] = labels[i] ?? -1));
  await store.putJson(truthKey(batchKey), { batchKey, truth });
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
 * True labels of `ids` (which must come from the recorded batches `batchKeys`); spends one unit
 * of budget per id, and refuses the whole request when the budget cannot cover it.
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
  const truth = new Map<string, number>();
  for (const key of batchKeys) {
    const doc = await store.getJson<{ truth: Record<string, number> }>(truthKey(key));
    for (const [id, label] of Object.entries(doc.truth ?? {})) truth.set(id, label);
  }
  const labels = Int32Array.from(ids, (id) => {
    const label = truth.get(id);
    if (label === undefined)
      throw new KnowledgeError(
        'NotFound',
        `the oracle has no label for image ${id} (searched ${batchKeys.join(', ')})`,
      );
    return label;
  });
  await store.putJson(BUDGET_KEY, { budget: budget.budget, used: budget.used + ids.length });
  return labels;
}
