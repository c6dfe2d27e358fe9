import { describe, expect, it } from '@jest/globals';
import type { Tensor } from '@tensorflow/tfjs-node';
import {
  BATCH_NORM_MOMENTUM,
  adaptBatchNorm,
  batchNormLayers,
  nativeBatchNormStep,
  restoreBatchNorm,
  saveBatchNorm,
  withBatchNormTraining,
} from '../../src/ml/batch-norm.js';
import {
  buildBatchNormClassifier,
  compileClassifier,
  evaluateClassifier,
  trainClassifier,
} from '../../src/ml/classifier.js';
import { loadMnist, subset } from '../../src/ml/mnist.js';
import { corruptImageSet } from '../../src/ml/mnist-c.js';
import { tensorflow } from '../../src/ml/tf.js';

const tf = tensorflow();
type Artifacts = Parameters<Parameters<typeof tf.io.withSaveHandler>[0]>[0];
const train = loadMnist('train', 6000);
const test = loadMnist('test', 2000);
const unlabelled = (set: typeof test) => ({ ...set, labels: undefined });

const stats = (model: ReturnType<typeof buildBatchNormClassifier>) =>
  batchNormLayers(model).map(
    (layer) =>
      Object.fromEntries(
        layer.weights.map((w) => [w.name.split('/').at(-1)?.replace(/_\d+$/, ''), Array.from(w.read().dataSync())]),
      ) as Record<string, number[]>,
  );

describe('BatchNorm for the MNIST classifier', () => {
  it('updates the moving statistics while training (in the plain training loop, and with both kernels forced), and uses them for prediction', async () => {
    for (const kernel of ['loop', 'native', 'tfjs'] as const) {
      const model = buildBatchNormClassifier(3);
      const before = stats(model);
      expect(before[0]?.moving_mean?.every((m) => m === 0)).toBe(true);
      const small = subset(
        train,
        Array.from({ length: 1024 }, (_, i) => i),
      );
      const run = () => trainClassifier(model, small, { epochs: 1, seed: 3, batchSize: 64 });
      // 'loop': trainClassifier as it is, the BN layer's own rule (training under a gradient tape).
      if (kernel === 'loop') await run();
      else await withBatchNormTraining(model, run, { kernel });
      const after = stats(model);
      for (const [i, layer] of after.entries()) {
        // 16 steps at momentum 0.9 move the averages 81 % of the way from (0, 1) to the batch statistics.
        const moved = layer.moving_mean?.map((m, c) => Math.abs(m - (before[i]?.moving_mean?.[c] ?? 0))) ?? [];
        expect(Math.max(...moved)).toBeGreaterThan(1e-3);
        expect(layer.moving_variance?.some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);
        expect(layer.gamma?.some((g) => g !== 1)).toBe(true);
      }
      // Prediction reads the moving statistics: changing them changes the output.
      const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 5);
      const y1 = (model.predict(x) as Tensor).dataSync();
      const saved = saveBatchNorm(model);
      adaptBatchNorm(model, unlabelled(test), { prior: 0 });
      const y2 = (model.predict(x) as Tensor).dataSync();
      expect(Array.from(y1).some((v, k) => Math.abs(v - (y2[k] ?? 0)) > 1e-4)).toBe(true);
      restoreBatchNorm(model, saved);
      const y3 = (model.predict(x) as Tensor).dataSync();
      Array.from(y1).forEach((v, k) => expect(Math.abs(v - (y3[k] ?? 0))).toBeLessThan(1e-6));
      tf.dispose([x, ...saved]);
      model.dispose();
    }
  });

  it('native fused step: same output, gradients and moving statistics as tfjs’s layer in training mode', () => {
    const model = buildBatchNormClassifier(5);
    const layer = batchNormLayers(model)[1];
    if (!layer) throw new Error('no BN layer');
    // Non-trivial γ, β so the gradients are not the identity case.
    layer.setWeights([
      tf.randomUniform([64], 0.5, 1.5, 'float32', 1),
      tf.randomUniform([64], -0.5, 0.5, 'float32', 2),
      tf.zeros([64]),
      tf.ones([64]),
    ]);
    const x = tf.randomNormal([8, 11, 11, 64], 0.3, 2, 'float32', 9);
    const dy = tf.randomNormal([8, 11, 11, 64], 0, 1, 'float32', 10);
    const initial = layer.getWeights().map((w) => w.clone());
    // Output, dx and the moving statistics after exactly one update (every call of f updates them).
    const run = (f: (h: Tensor) => Tensor) => {
      layer.setWeights(initial);
      const dx = tf
        .grad((input: Tensor) => tf.sum(tf.mul(f(input), dy)))(x)
        .dataSync();
      layer.setWeights(initial);
      const out = f(x).dataSync();
      const moving = layer
        .getWeights()
        .slice(2)
        .map((w) => w.dataSync());
      return { out, dx, moving };
    };
    const native = nativeBatchNormStep(layer);
    const tfjsRun = run((h) => layer.apply(h, { training: true }) as Tensor);
    const nativeRun = run(native);
    const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
      expect(a.length).toBe(b.length);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
      expect(worst).toBeLessThan(tol);
    };
    close(nativeRun.out, tfjsRun.out, 1e-4);
    close(nativeRun.dx, tfjsRun.dx, 1e-4);
    close(nativeRun.moving[0] ?? [], tfjsRun.moving[0] ?? [], 1e-5);
    // Moving variance: TensorFlow's batch variance is Bessel-corrected (n/(n−1), n = 8·11·11), tfjs's is not.
    const n = 8 * 11 * 11;
    close(
      nativeRun.moving[1] ?? [],
      Array.from(tfjsRun.moving[1] ?? [], (v) => BATCH_NORM_MOMENTUM + (v - BATCH_NORM_MOMENTUM) * (n / (n - 1))),
      1e-5,
    );
    tf.dispose([x, dy, ...initial]);
    model.dispose();
  });

  it('native fused step: gradients for γ and β equal tfjs’s through variableGrads (as the training loop takes them)', () => {
    const model = buildBatchNormClassifier(6);
    const layer = batchNormLayers(model)[0];
    if (!layer) throw new Error('no BN layer');
    const x = tf.randomNormal([16, 26, 26, 32], 0, 1, 'float32', 11);
    const dy = tf.randomNormal([16, 26, 26, 32], 0, 1, 'float32', 12);
    const variables = layer.trainableWeights.map((w) => w.read() as import('@tensorflow/tfjs-node').Variable);
    const initial = layer.getWeights().map((w) => w.clone());
    const gradsOf = (f: (h: Tensor) => Tensor) => {
      layer.setWeights(initial);
      const { grads, value } = tf.variableGrads(
        () => tf.sum(tf.mul(f(x), dy)) as import('@tensorflow/tfjs-node').Scalar,
        variables,
      );
      const out = variables.map((v) => Array.from((grads[v.name] as Tensor).dataSync()));
      value.dispose();
      return out;
    };
    const tfjs = gradsOf((h) => layer.apply(h, { training: true }) as Tensor);
    const native = gradsOf(nativeBatchNormStep(layer));
    for (const [k, g] of native.entries()) {
      const ref = tfjs[k] ?? [];
      const scale = Math.max(...ref.map(Math.abs));
      g.forEach((v, i) => expect(Math.abs(v - (ref[i] ?? 0))).toBeLessThan(1e-4 * Math.max(1, scale)));
    }
    tf.dispose([x, dy, ...initial]);
    model.dispose();
  });

  it('adapts the statistics on unlabelled images: the prior blends source and target as N/(N+n)', () => {
    const model = buildBatchNormClassifier(4);
    const first = batchNormLayers(model)[0];
    if (!first) throw new Error('no BN layer');
    const images = unlabelled(
      subset(
        test,
        Array.from({ length: 48 }, (_, i) => i),
      ),
    );
    expect(images.labels).toBeUndefined();
    // The first BN layer's input is the first conv's output: its exact per-channel statistics.
    const conv = model.layers[0];
    const x = tf.tensor4d(images.pixels, [48, 28, 28, 1]);
    const h = conv?.apply(x) as Tensor;
    const { mean, variance } = tf.moments(h, [0, 1, 2]);
    const target = [Array.from(mean.dataSync()), Array.from(variance.dataSync())];
    const result = adaptBatchNorm(model, images, { prior: 16 });
    expect(result.images).toBe(48);
    expect(result.targetWeight).toBeCloseTo(48 / 64, 10);
    const [adaptedMean, adaptedVariance] = first
      .getWeights()
      .slice(2)
      .map((w) => Array.from(w.dataSync()));
    // Source statistics are the initial (0, 1): blended = 0.25·source + 0.75·target.
    adaptedMean?.forEach((m, c) => expect(m).toBeCloseTo(0.75 * (target[0]?.[c] ?? NaN), 4));
    adaptedVariance?.forEach((v, c) => expect(v).toBeCloseTo(0.25 + 0.75 * (target[1]?.[c] ?? NaN), 4));
    expect(() => adaptBatchNorm(model, images, { prior: -1 })).toThrow(/prior/);
    expect(() => adaptBatchNorm(model, subset(test, [0]))).toThrow(/at least 2 images/);
    tf.dispose([x, h, mean, variance]);
    model.dispose();
  });

  it('a trained BN classifier, adapted without labels to a corruption, does better on it than unadapted', async () => {
    const model = buildBatchNormClassifier(7);
    await withBatchNormTraining(model, () => trainClassifier(model, train, { epochs: 2, seed: 7, batchSize: 32 }));
    // 376 steps at momentum 0.99 leave moving averages that lag the last weights; the source
    // statistics are re-estimated once on training images (what a longer training converges to).
    adaptBatchNorm(
      model,
      unlabelled(
        subset(
          train,
          Array.from({ length: 2000 }, (_, i) => i),
        ),
      ),
      { prior: 0 },
    );
    const clean = evaluateClassifier(model, test).accuracy;
    expect(clean).toBeGreaterThanOrEqual(0.94);
    const window = unlabelled(
      corruptImageSet(
        subset(
          loadMnist('test'),
          Array.from({ length: 1200 }, (_, i) => 5000 + i),
        ),
        'fog',
        1,
      ),
    );
    const scored = corruptImageSet(test, 'fog', 0);
    const before = evaluateClassifier(model, scored).accuracy;
    adaptBatchNorm(model, window);
    const after = evaluateClassifier(model, scored).accuracy;
    expect(after).toBeGreaterThan(before);
    model.dispose();
  });

  it('a saved and reloaded BN classifier is plain Keras JSON and still learns its statistics when fine-tuned', async () => {
    const model = buildBatchNormClassifier(8);
    let saved: Artifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const topology = JSON.stringify(saved?.modelTopology);
    expect(topology).toContain('"class_name":"BatchNormalization"');
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved as Artifacts));
    compileClassifier(loaded, 3e-4);
    const before = stats(loaded as ReturnType<typeof buildBatchNormClassifier>);
    await trainClassifier(
      loaded,
      subset(
        train,
        Array.from({ length: 256 }, (_, i) => i),
      ),
      { epochs: 1, seed: 1, batchSize: 64 },
    );
    const after = stats(loaded as ReturnType<typeof buildBatchNormClassifier>);
    expect(after[1]?.moving_mean?.some((m, c) => Math.abs(m - (before[1]?.moving_mean?.[c] ?? 0)) > 1e-3)).toBe(true);
    model.dispose();
    loaded.dispose();
  });
});
