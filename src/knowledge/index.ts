// The knowledge base: store backends, model registry, model files, image sets, prediction log.
export * from './types.js';
export type { ImageSet } from '../ml/types.js';
export { LocalDirectoryStore } from './local-store.js';
export { S3Store, type S3StoreOptions } from './s3-store.js';
export { openKnowledgeStore } from './open-store.js';
export { ModelRegistry } from './model-registry.js';
export { storeIOHandler, saveModelToStore, loadModelFromStore } from './model-io.js';
export { encodeImageSet, decodeImageSet, putImageSet, getImageSet, validateImageSet } from './image-set.js';
export {
  BatchedPredictionLogWriter,
  listPredictionBatches,
  readPredictionBatch,
  countPredictions,
  pixelsToBase64,
  recordsToImageSet,
  predictionLogPrefix,
} from './prediction-log.js';
