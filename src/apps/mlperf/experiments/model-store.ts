/**
 * The model store the experiments' pods read: a host directory (mounted into the model-server
 * pods at /store with a hostPath volume; on a real cluster the store is S3) holding the MNIST
 * classifier twice, as versions 1 and 2 of `mnist-classifier`, so that an answer names the service
 * that gave it (the primary serves version 1, the backup version 2). The weights are the MNIST
 * demo's trained V1 when its cache exists (.scanflow/cache/knowledge-*), else the same network
 * freshly initialised: what the infrastructure experiments measure (CPU per inference) is the
 * same either way.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-node';
import { LocalDirectoryStore } from '../../../knowledge/local-store.js';
import { ModelRegistry } from '../../../knowledge/model-registry.js';
import { buildClassifier } from '../../../ml/classifier.js';
import { MLPERF_MODEL } from '../names.js';

export interface SeededStore {
  directory: string;
  /** Where the weights came from. */
  weights: 'trained (MNIST demo cache)' | 'initialised (no MNIST demo cache)';
}

function cachedRegistry(home: string): ModelRegistry | undefined {
  const cache = join(home, 'cache');
  if (!existsSync(cache)) return undefined;
  for (const d of readdirSync(cache)
    .filter((n) => n.startsWith('knowledge-'))
    .sort()
    .reverse()) {
    const dir = join(cache, d);
    if (existsSync(join(dir, 'models', MLPERF_MODEL, 'registry.json')))
      return new ModelRegistry(new LocalDirectoryStore(dir), MLPERF_MODEL);
  }
  return undefined;
}

/** The pods run as uid 1000 and write their prediction logs into the store: a throwaway directory open to them. */
function chmodTree(dir: string): void {
  chmodSync(dir, 0o777);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) chmodTree(p);
    else chmodSync(p, 0o666);
  }
}

/** A fresh store directory (under the system's temporary directory: the pods' user must read it). */
export async function seedModelStore(home: string): Promise<SeededStore> {
  const directory = mkdtempSync(join(tmpdir(), 'scanflow-mlperf-store-'));
  const registry = new ModelRegistry(new LocalDirectoryStore(directory), MLPERF_MODEL);
  const cached = cachedRegistry(home);
  let model: LayersModel;
  let weights: SeededStore['weights'];
  // The registry promotes only a version with metrics: the cached model's own, or a flag saying it is untrained.
  let metrics: Record<string, number>;
  if (cached) {
    const production = (await cached.list()).find((r) => r.stage === 'production') ?? (await cached.list())[0]!;
    model = await cached.loadModel(production.version);
    metrics = { ...production.metrics };
    weights = 'trained (MNIST demo cache)';
  } else {
    model = buildClassifier(7);
    metrics = { trained: 0 };
    weights = 'initialised (no MNIST demo cache)';
  }
  for (const service of ['primary', 'backup'])
    await registry.register({ model, metrics, lineage: { datasets: [], notes: `mlperf experiments: ${service}` } });
  model.dispose();
  await registry.promote(1);
  chmodTree(directory);
  return { directory, weights };
}
