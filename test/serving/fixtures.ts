/** Shared set-up of the serving tests: a real S3-backed knowledge store and registry with tiny real models. */
import { S3Store } from '../../src/knowledge/s3-store.js';
import { ModelRegistry } from '../../src/knowledge/model-registry.js';
import type { KnowledgeStore, KnowledgeStoreConfig } from '../../src/knowledge/types.js';
import { tensorflow } from '../../src/ml/tf.js';
import { s3Config } from '../harness/env.js';

let counter = 0;

/** A store config on the harness's S3 server under a prefix no other test uses. */
export function uniqueS3StoreConfig(label: string): Extract<KnowledgeStoreConfig, { kind: 's3' }> {
  counter += 1;
  return {
    kind: 's3',
    ...s3Config(),
    bucket: 'scanflow-serving-test',
    prefix: `${label}-${process.pid}-${Date.now().toString(36)}-${counter}/`,
  };
}

export function s3Store(config: Extract<KnowledgeStoreConfig, { kind: 's3' }>): KnowledgeStore {
  return new S3Store(config);
}

/** An untrained but real tfjs classifier [n,28,28,1] → [n,10]; the seed makes versions differ reproducibly. */
export function tinyClassifier(seed: number) {
  const tf = tensorflow();
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1] }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
    ],
  });
}

/** Registers `count` versions (1..count) of model `name`, promotes version 1, returns the registry. */
export async function seededRegistry(store: KnowledgeStore, name: string, count: number): Promise<ModelRegistry> {
  const registry = new ModelRegistry(store, name);
  for (let i = 1; i <= count; i += 1) {
    const model = tinyClassifier(i);
    await registry.register({
      model,
      metrics: { accuracy: 0.1 * i },
      lineage: { datasets: [], notes: 'serving test fixture' },
    });
    model.dispose();
  }
  await registry.promote(1);
  return registry;
}

/** `count` images whose pixels depend on the seed, row-major in [0, 1]. */
export function images(count: number, seed = 1): number[] {
  const out: number[] = [];
  let x = seed >>> 0 || 1;
  for (let i = 0; i < count * 784; i += 1) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out.push((x >>> 8) / 16777216);
  }
  return out;
}

export function inferBody(count: number, extra: Record<string, unknown> = {}, seed = 1): string {
  return JSON.stringify({
    inputs: [{ name: 'images', shape: [count, 28, 28, 1], datatype: 'FP32', data: images(count, seed) }],
    ...extra,
  });
}
