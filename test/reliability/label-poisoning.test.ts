/**
 * Label poisoning through client-supplied `sample_ids`, end to end on real components: a model
 * server (this process, native TensorFlow) logging to a real S3 knowledge base, the knowledge
 * activities collecting the log into a dataset, and the picking activities labelling it with the
 * oracle. An honest client sends stream images under their ids; an attacker sends other pixels
 * under real stream ids (some the honest client also sent, some it did not) and under ids the
 * stream never emitted. Only the honest samples are joined with a label; every poisoned one is
 * left out, costs no budget, is counted in the activity's result and recorded by the oracle.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getImageSet } from '../../src/knowledge/image-set.js';
import { pixelFingerprint } from '../../src/knowledge/fingerprint.js';
import { BatchedPredictionLogWriter } from '../../src/knowledge/prediction-log.js';
import type { KnowledgeStore } from '../../src/knowledge/types.js';
import { createKnowledgeActivities } from '../../src/activities/knowledge/knowledge-activities.js';
import { getBudget, recordTruth, rejectionSummary, setBudget, truthKey } from '../../src/activities/ml/label-oracle.js';
import { createMlModels } from '../../src/activities/ml/models.js';
import { createPickingActivities } from '../../src/activities/ml/picking.js';
import { registryModelSource } from '../../src/serving/model-source.js';
import { ModelServer } from '../../src/serving/server.js';
import { images, s3Store, seededRegistry, uniqueS3StoreConfig } from '../serving/fixtures.js';

const SIZE = 784;
const BATCH = 'traffic/seed-7/batch-00000.sfimg';
const FOREIGN_BATCH = 'traffic/seed-7/batch-99999.sfimg';
const STREAM = 40;

describe('label poisoning via client sample_ids', () => {
  let store: KnowledgeStore;
  let server: ModelServer;
  let base: string;
  const streamPixels = Float32Array.from(images(STREAM, 7));
  const streamIds = Array.from({ length: STREAM }, (_, i) => `b0-${i}`);
  const truth = Int32Array.from(streamIds, (_, i) => i % 10);
  const row = (pixels: Float32Array, i: number) => pixels.subarray(i * SIZE, (i + 1) * SIZE);

  beforeAll(async () => {
    store = s3Store(uniqueS3StoreConfig('poisoning'));
    const registry = await seededRegistry(store, 'mnist', 1);
    // The stream emitted STREAM images; the oracle keeps their labels and pixel fingerprints.
    await recordTruth(store, BATCH, streamIds, truth, { count: STREAM, height: 28, width: 28, pixels: streamPixels });
    await setBudget(store, 1000);
    server = new ModelServer({
      modelName: 'mnist',
      source: registryModelSource(registry),
      predictionLog: new BatchedPredictionLogWriter(store, { model: 'mnist', batchSize: 25, flushIntervalMs: 0 }),
      batching: { maxBatchSize: 32, maxWaitMs: 2 },
      processMetrics: false,
      log: () => undefined,
    });
    base = `http://127.0.0.1:${await server.listen(0)}`;
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  const infer = async (pixels: Float32Array, ids: string[]) => {
    const res = await fetch(`${base}/v2/models/mnist/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'images', shape: [ids.length, 28, 28, 1], datatype: 'FP32', data: Array.from(pixels) }],
        parameters: { sample_ids: ids },
      }),
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  };

  it('joins only the samples whose pixels are the oracle’s, and reports the rest', async () => {
    // Honest traffic: stream images 0..29 under their own ids, 5 per request.
    for (let i = 0; i < 30; i += 5)
      await infer(streamPixels.slice(i * SIZE, (i + 5) * SIZE), streamIds.slice(i, i + 5));
    // The attacker: other pixels under stream ids the honest client never sent (30..39), under ids
    // it did send (0..4: the same id twice in the log), and under ids the stream never emitted.
    const stolen = [...streamIds.slice(30), ...streamIds.slice(0, 5)];
    await infer(Float32Array.from(images(stolen.length, 99)), stolen);
    const invented = ['b99999-0', 'b99999-1', 'b99999-2'];
    await infer(Float32Array.from(images(invented.length, 123)), invented);
    expect(await server.flushPredictionLog()).toBe(0);

    // The checker's path: the logged inputs as one dataset, then the oracle labels it.
    const knowledge = createKnowledgeActivities({ store });
    const collected = await knowledge.collectPredictions({ model: 'mnist', outputKey: 'checks/poisoning.sfimg' });
    expect(collected.count).toBe(30 + stolen.length + invented.length);
    const picking = createPickingActivities(createMlModels({ store }));

    // The evaluation sample set aside for later verdicts holds none of the poisoned samples.
    const evaluation = await picking.sampleForEvaluation({
      data: collected.datasetKey,
      count: 1000,
      seed: 1,
      batchKeys: [BATCH, FOREIGN_BATCH],
      outputKey: 'eval/stream/poisoning.sfimg',
    });
    expect(evaluation.count).toBe(30);
    expect(evaluation.rejected).toBe(stolen.length + invented.length);
    const pool = await getImageSet(store, evaluation.pickedKey);
    pool.ids!.forEach((id, k) => {
      const i = streamIds.indexOf(id);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(pixelFingerprint(row(pool.pixels, k))).toBe(pixelFingerprint(row(streamPixels, i)));
    });

    const labelled = await picking.labelSamples({
      pickedKey: collected.datasetKey,
      batchKeys: [BATCH, FOREIGN_BATCH],
      outputKey: 'picked/poisoning.labelled.sfimg',
    });
    expect(labelled).toMatchObject({ count: 30, trueLabels: 30, rejected: stolen.length + invented.length });
    const set = await getImageSet(store, labelled.labelledKey);
    expect([...set.ids!].sort()).toEqual(streamIds.slice(0, 30).sort());
    set.ids!.forEach((id, k) => {
      const i = streamIds.indexOf(id);
      // Each label sits on the pixels the oracle emitted under that id, never on the attacker's.
      expect(set.labels![k]).toBe(truth[i]);
      expect(pixelFingerprint(row(set.pixels, k))).toBe(pixelFingerprint(row(streamPixels, i)));
    });
    // Only the joined samples cost labels.
    expect(await getBudget(store)).toEqual({ budget: 1000, used: 30 });

    // Counted and reported by the oracle: distinct refused (id, pixels) pairs over both steps.
    const summary = await rejectionSummary(store);
    expect(summary.total).toBe(stolen.length + invented.length);
    expect(summary.byReason).toEqual({
      'pixels-mismatch': stolen.length,
      'unknown-id': invented.length,
      'no-fingerprint': 0,
    });
    expect(summary.sources.map((s) => s.source).sort()).toEqual([
      'eval/stream/poisoning.sfimg',
      'picked/poisoning.labelled.sfimg',
    ]);

    // A retried labelling step finds its output: no second spend, the same report.
    const again = await picking.labelSamples({
      pickedKey: collected.datasetKey,
      batchKeys: [BATCH, FOREIGN_BATCH],
      outputKey: 'picked/poisoning.labelled.sfimg',
    });
    expect(again).toMatchObject({ count: 30, rejected: stolen.length + invented.length });
    expect((await getBudget(store)).used).toBe(30);
  });

  it('labels nothing from a batch whose truth was recorded without fingerprints (cannot be checked)', async () => {
    const legacy = 'traffic/seed-7/batch-00001.sfimg';
    const ids = ['b1-0', 'b1-1'];
    await recordTruth(store, legacy, ids, [3, 4]);
    expect(await store.getJson(truthKey(legacy))).not.toHaveProperty('fingerprints');
    await infer(Float32Array.from(images(2, 5)), ids);
    expect(await server.flushPredictionLog()).toBe(0);
    const knowledge = createKnowledgeActivities({ store });
    const all = await knowledge.collectPredictions({ model: 'mnist', outputKey: 'checks/legacy.sfimg' });
    const picking = createPickingActivities(createMlModels({ store }));
    const before = (await getBudget(store)).used;
    const result = await picking.labelSamples({
      pickedKey: all.datasetKey,
      batchKeys: [legacy],
      outputKey: 'picked/legacy.labelled.sfimg',
    });
    // Every logged sample is refused (b0-* are unknown in this batch, b1-* have no fingerprint).
    expect(result).toMatchObject({ labelledKey: '', count: 0, trueLabels: 0, rejected: all.count });
    expect(await store.exists('picked/legacy.labelled.sfimg')).toBe(false);
    expect((await getBudget(store)).used).toBe(before);
    expect((await rejectionSummary(store)).byReason['no-fingerprint']).toBe(2);
  });
});
