/**
 * Where the server gets model versions: the knowledge base's model registry. Kept behind a
 * two-method interface so the server does not care which store backend the registry uses.
 */
import type { ModelRegistryApi } from '../knowledge/types.js';
import { servableFromLayersModel, type ServableModel } from './servable-model.js';

export interface ModelSource {
  /** The registry's production version, or undefined when none is promoted yet. */
  productionVersion(): Promise<number | undefined>;
  /** Loads one version, ready to predict (throws naming the version when it cannot). */
  load(version: number): Promise<ServableModel>;
}

export function registryModelSource(registry: Pick<ModelRegistryApi, 'production' | 'loadModel'>): ModelSource {
  return {
    async productionVersion() {
      return (await registry.production())?.version;
    },
    async load(version) {
      const model = await registry.loadModel(version);
      try {
        return servableFromLayersModel(model, String(version));
      } catch (err) {
        model.dispose();
        throw err;
      }
    },
  };
}
