/**
 * tfjs models saved to and loaded from a KnowledgeStore, through a tf.io.IOHandler: the same
 * two files `tf.io` writes to disk (`model.json` with topology + weights manifest, `weights.bin`),
 * so an artifact can also be opened with `tf.loadLayersModel('file://…/model.json')`.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import type { io } from '@tensorflow/tfjs-core';
import { tensorflow } from '../ml/tf.js';
import { checkKey } from './keys.js';
import { KnowledgeError, type KnowledgeStore } from './types.js';

const WEIGHTS_FILE = 'weights.bin';

interface ModelJson {
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: io.WeightsManifestEntry[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  trainingConfig?: io.TrainingConfig;
}

export function storeIOHandler(store: KnowledgeStore, prefix: string): io.IOHandler {
  checkKey(prefix, 'model artifact prefix');
  const tf = tensorflow();
  return {
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      if (!(artifacts.modelTopology && artifacts.weightSpecs && artifacts.weightData)) {
        throw new KnowledgeError('InvalidInput', `model to save under ${prefix} has no topology or weights`);
      }
      const weightData = Array.isArray(artifacts.weightData)
        ? tf.io.concatenateArrayBuffers(artifacts.weightData)
        : artifacts.weightData;
      // Weights first: a model.json never points at weights that are not there yet.
      await store.putBytes(`${prefix}/${WEIGHTS_FILE}`, new Uint8Array(weightData));
      const json: ModelJson = {
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs }],
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        trainingConfig: artifacts.trainingConfig,
      };
      await store.putJson(`${prefix}/model.json`, json);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<io.ModelArtifacts> {
      const json = await store.getJson<ModelJson>(`${prefix}/model.json`);
      const manifest = json?.weightsManifest?.[0];
      if (!json?.modelTopology || !manifest || !Array.isArray(manifest.weights)) {
        throw new KnowledgeError(
          'Corrupt',
          `${store.location}/${prefix}/model.json has no modelTopology or weightsManifest`,
        );
      }
      const bytes = await store.getBytes(`${prefix}/${WEIGHTS_FILE}`);
      const expected = manifest.weights.reduce(
        (sum, w) => sum + w.shape.reduce((a, b) => a * b, 1) * bytesPerElement(w.dtype),
        0,
      );
      if (bytes.byteLength !== expected) {
        throw new KnowledgeError(
          'Corrupt',
          `${store.location}/${prefix}/${WEIGHTS_FILE} has ${bytes.byteLength} bytes, the manifest needs ${expected}`,
        );
      }
      return {
        modelTopology: json.modelTopology as io.ModelArtifacts['modelTopology'],
        weightSpecs: manifest.weights,
        weightData: bytes.slice().buffer,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        trainingConfig: json.trainingConfig,
      };
    },
  };
}

function bytesPerElement(dtype: string): number {
  if (dtype === 'float32' || dtype === 'int32') return 4;
  if (dtype === 'bool' || dtype === 'uint8') return 1;
  if (dtype === 'float16') return 2;
  throw new KnowledgeError('Corrupt', `unsupported weight dtype ${dtype} in model manifest`);
}

/**
 * Saves topology + weights through the store handler. We encode the weights ourselves instead of
 * calling model.save(): tfjs's encoder type-checks arrays with `instanceof Float32Array`, which
 * fails when the native binding's arrays come from another JS realm (as under Jest's VM modules).
 */
export async function saveModelToStore(store: KnowledgeStore, model: LayersModel, prefix: string): Promise<void> {
  const weightSpecs: io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  for (const weight of model.weights) {
    const values = await weight.read().data();
    if (weight.dtype !== 'float32' && weight.dtype !== 'int32')
      throw new KnowledgeError('InvalidInput', `cannot save weight ${weight.originalName} of dtype ${weight.dtype}`);
    weightSpecs.push({ name: weight.originalName, shape: weight.shape.map((d) => d ?? 0), dtype: weight.dtype });
    chunks.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  const weightData = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    weightData.set(c, offset);
    offset += c.byteLength;
  }
  await storeIOHandler(store, prefix).save?.({
    modelTopology: model.toJSON(null, false) as io.ModelArtifacts['modelTopology'],
    weightSpecs,
    weightData: weightData.buffer,
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tensorflow().version_layers}`,
    convertedBy: null,
  });
}

export async function loadModelFromStore(store: KnowledgeStore, prefix: string): Promise<LayersModel> {
  try {
    return await tensorflow().loadLayersModel(storeIOHandler(store, prefix));
  } catch (err) {
    if (err instanceof KnowledgeError) throw err;
    throw new KnowledgeError(
      'Corrupt',
      `model at ${store.location}/${prefix} cannot be loaded: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
