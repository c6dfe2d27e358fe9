/**
 * What the ML activity sets share: the knowledge store, the classifier and detector registries,
 * and caches of loaded models. Versions are immutable, so a loaded model is cached by version
 * and shared by every activity of one worker (evaluation and picking load the same classifier).
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { ModelRegistry } from '../../knowledge/model-registry.js';
import { KnowledgeError, type KnowledgeStore } from '../../knowledge/types.js';
import { DriftDetector, type DetectorState } from '../../ml/drift-detector.js';

export interface MlActivityDeps {
  store: KnowledgeStore;
  /** Registry names; defaults `mnist-classifier` and `mnist-detector`. */
  classifierModel?: string;
  detectorModel?: string;
}

export interface MlModels {
  store: KnowledgeStore;
  classifiers: ModelRegistry;
  detectors: ModelRegistry;
  /** `requested`, or the registry's production version (NotFound when none was promoted). */
  productionVersion(registry: ModelRegistry, requested: number | undefined): Promise<number>;
  /** The cached classifier of `version`: callers must not train or dispose it. */
  loadClassifier(version: number): Promise<LayersModel>;
  /** The cached detector of `version` (autoencoder + its `detector.json` calibration). */
  loadDetector(version: number): Promise<DriftDetector>;
}

/** Store key of a detector version's state (mode + calibration), beside its tfjs artifacts. */
export const detectorStateKey = (artifactPrefix: string): string => `${artifactPrefix}/detector.json`;

/** A dataset reference made safe for use inside a store key. */
export const slug = (ref: string): string => ref.replace(/[^A-Za-z0-9._=-]+/g, '_');

export function createMlModels(deps: MlActivityDeps): MlModels {
  const { store } = deps;
  const classifiers = new ModelRegistry(store, deps.classifierModel ?? 'mnist-classifier');
  const detectors = new ModelRegistry(store, deps.detectorModel ?? 'mnist-detector');
  const classifierCache = new Map<number, LayersModel>();
  const detectorCache = new Map<number, DriftDetector>();

  return {
    store,
    classifiers,
    detectors,

    async productionVersion(registry, requested) {
      if (requested !== undefined) return requested;
      const production = await registry.production();
      if (!production)
        throw new KnowledgeError(
          'NotFound',
          `model ${registry.model} has no production version: pass a version or promote one first`,
        );
      return production.version;
    },

    async loadClassifier(version) {
      let model = classifierCache.get(version);
      if (!model) {
        model = await classifiers.loadModel(version);
        classifierCache.set(version, model);
      }
      return model;
    },

    async loadDetector(version) {
      let detector = detectorCache.get(version);
      if (!detector) {
        const record = await detectors.get(version);
        const state = await store.getJson<DetectorState>(detectorStateKey(record.artifactPrefix));
        if (!state?.calibration || !(state.mode === 'l2' || state.mode === 'features')) {
          throw new KnowledgeError(
            'Corrupt',
            `detector version ${version} has no valid detector.json (mode + calibration)`,
          );
        }
        detector = new DriftDetector(await detectors.loadModel(version), state);
        detectorCache.set(version, detector);
      }
      return detector;
    },
  };
}
