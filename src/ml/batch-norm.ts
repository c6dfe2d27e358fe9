/**
 * Batch normalisation for the MNIST classifier (issue #14's go/no-go, bench/ml-batchnorm.ts):
 *
 * - `buildBatchNormClassifier` (classifier.ts): V1's architecture with a BatchNormalization after each conv,
 *   BEFORE its ReLU (conv → BN → ReLU → pool). Before the ReLU because (1) that is where Ioffe &
 *   Szegedy and the ResNets that Schneider et al. 2020 adapt put it: the statistics are those of
 *   a roughly symmetric pre-activation, not of a half-zero rectified one, so re-estimating them
 *   on drifted data shifts and rescales what the ReLU thresholds; (2) an inference-mode BN right
 *   after a conv folds exactly into that conv's kernel and bias (the model server's forward pass
 *   can serve it with no extra op). The convs lose their bias: BN's beta replaces it.
 * - `batchNormalization`: the BN layer the classifier is built with, tfjs's own layer (saved as
 *   'BatchNormalization', Keras-compatible) that also trains when a gradient is being taken
 *   through it without an explicit `training` flag (see below), with TensorFlow's fused ops.
 * - `withBatchNormTraining`: tfjs's BatchNormalization only normalises with the batch's
 *   statistics, and only updates its moving statistics, when called with `training: true`; the
 *   training loop's generic fallback (training-loop.ts layerStep) calls `layer.apply(h)` without
 *   it, so BN would train as a fixed affine map on its initial statistics (mean 0, variance 1)
 *   and the moving statistics would never move. This runs a training function with every BN
 *   layer switched to training mode, and restores the layers afterwards.
 * - `adaptBatchNorm`: unsupervised test-time adaptation (Schneider et al. 2020, "Improving
 *   robustness against common corruptions by covariate shift adaptation"; Nado et al. 2020,
 *   prediction-time BN): every BN layer's statistics re-estimated on a window of target images
 *   (no labels), blended with the source statistics as the paper's prior:
 *     μ = N/(N+n)·μ_source + n/(N+n)·μ_target,   σ² = N/(N+n)·σ²_source + n/(N+n)·σ²_target
 *   with n the window's image count and N the prior's strength in images.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs-node';
import { createRequire } from 'node:module';
import type { ImageSet } from './types.js';
import { imagesToTensor } from './tensors.js';
import { tensorflow } from './tf.js';
import { InvalidInputError } from './errors.js';

/**
 * The source prior's strength N (in images): Schneider et al. 2020's N = 16, the value their
 * paper recommends from ImageNet-C (not fitted here). With a window of n = 1,200 images the
 * target statistics get n/(N+n) = 98.7 % of the weight: close to a full re-estimation, with a
 * prior that only matters for small windows.
 */
export const BATCH_NORM_PRIOR = 16;

/**
 * Moving-average momentum of the BN statistics. Keras's 0.99 averages over the last ~100 steps
 * and starts from (mean 0, variance 1) while the first conv's outputs have variance ~0.01: on a
 * 6,000-image run (376 steps at batch 32) the leftover of the initial variance triples it, and
 * the clean accuracy measured 80.5 % (2 epochs at batch 32), 66.4 % (the default recipe), 13.8 %
 * (1 epoch at batch 128) against 94.4 %, 95.3 %, 85.9 % with 0.9 (~10 steps; /tmp measurement
 * of issue #14, seed 7). A full bootstrap (2,344 steps) is indifferent to either.
 */
export const BATCH_NORM_MOMENTUM = 0.9;

interface Kwargs {
  training?: boolean;
  [key: string]: unknown;
}
type CallInputs = Tensor | Tensor[];
type BatchNormBase = new (args: Record<string, unknown>) => Layer & {
  call(inputs: CallInputs, kwargs: Kwargs): Tensor | Tensor[];
};

/**
 * tfjs's BatchNormalization class, extended: without an explicit `training` flag, a call while
 * a gradient tape is recording (tf.variableGrads, the training loop's generic fallback) trains:
 * batch statistics, moving averages updated, through nativeBatchNormStep. tfjs's own layer would
 * run in inference mode there (training-loop.ts calls `layer.apply(h)`), i.e. train as a fixed
 * affine map on its initial statistics. An explicit `training` flag (model.fit, predict) keeps
 * tfjs's behaviour. Registered under tfjs's class name, so saved models stay plain Keras
 * BatchNormalization and a model loaded in a process that imported this module trains the same
 * way as one built here. Loaded with require, as tf.ts loads tfjs-node: the same (CommonJS)
 * instance of tfjs-layers, without the native library.
 */
const TrainableBatchNormalization = (() => {
  const require = createRequire(import.meta.url);
  const layers = (require('@tensorflow/tfjs-layers') as { layers: { batchNormalization(a: object): object } }).layers;
  const core = require('@tensorflow/tfjs-core') as {
    engine(): { isTapeOn(): boolean };
    serialization: { registerClass(cls: unknown): void };
  };
  const Base = (Object.getPrototypeOf(layers.batchNormalization({})) as { constructor: BatchNormBase }).constructor;
  class Trainable extends Base {
    static className = 'BatchNormalization';
    private native?: (x: Tensor) => Tensor;

    override call(inputs: CallInputs, kwargs: Kwargs): Tensor | Tensor[] {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (kwargs?.training === undefined && x?.rank === 4 && core.engine().isTapeOn()) {
        this.native ??= nativeBatchNormStep(this);
        return this.native(x);
      }
      return super.call(inputs, kwargs ?? {});
    }
  }
  core.serialization.registerClass(Trainable);
  return Trainable;
})();

/** A BN layer on the last axis that trains in Scanflow's training loop (TrainableBatchNormalization). */
export function batchNormalization(args: { momentum?: number; epsilon?: number } = {}): Layer {
  return new TrainableBatchNormalization({ axis: -1, momentum: BATCH_NORM_MOMENTUM, ...args });
}

type Layer = LayersModel['layers'][number];

const isBatchNorm = (layer: Layer): boolean => layer.getClassName() === 'BatchNormalization';

/** The model's BatchNormalization layers, in order. */
export function batchNormLayers(model: LayersModel): Layer[] {
  return model.layers.filter(isBatchNorm);
}

export interface BatchNormTrainingOptions {
  /**
   * 'native' (default): one TensorFlow FusedBatchNormV3 op forward and one FusedBatchNormGradV3
   * backward (nativeBatchNormStep); 'tfjs': tfjs's own layer in training mode (moments, batchNorm
   * and their JavaScript-composed gradients), to compare.
   */
  kernel?: 'native' | 'tfjs';
}

/**
 * Runs `train` with every BN layer of `model` in training mode (batch statistics, moving
 * statistics updated) when the training loop calls it without `training: true`. Restored after,
 * even on error, so prediction uses the moving statistics again.
 */
export async function withBatchNormTraining<T>(
  model: LayersModel,
  train: () => Promise<T>,
  options: BatchNormTrainingOptions = {},
): Promise<T> {
  type Apply = Layer['apply'];
  const kernel = options.kernel ?? 'native';
  if (kernel !== 'native' && kernel !== 'tfjs')
    throw new InvalidInputError(`kernel must be 'native' or 'tfjs', got ${JSON.stringify(kernel)}`);
  const patched = batchNormLayers(model).map((layer) => {
    const own = Object.prototype.hasOwnProperty.call(layer, 'apply') ? layer.apply : undefined;
    const original = layer.apply.bind(layer);
    const step = kernel === 'native' ? nativeBatchNormStep(layer) : undefined;
    (layer as { apply: Apply }).apply = ((inputs, kwargs) =>
      step && inputs instanceof tensorflow().Tensor && inputs.rank === 4
        ? step(inputs)
        : original(inputs, { ...(kwargs ?? {}), training: true })) as Apply;
    return { layer, own };
  });
  try {
    return await train();
  } finally {
    for (const { layer, own } of patched) {
      if (own) (layer as { apply: Apply }).apply = own;
      else delete (layer as { apply?: Apply }).apply;
    }
  }
}

interface BatchNormConfig {
  axis?: number | number[];
  momentum?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
}

const DT_FLOAT = 1;

interface NativeBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_FLOAT: number; TF_ATTR_STRING: number; TF_ATTR_BOOL: number };
  executeMultipleOutputs(
    name: string,
    attrs: { name: string; type: number; value: unknown }[],
    inputs: Tensor[],
    count: number,
  ): Tensor[];
}

/**
 * A BN layer's training step (NHWC, last axis) as TensorFlow's own fused ops: FusedBatchNormV3
 * (is_training) returns the normalised batch, the updated moving mean and variance (as Keras:
 * m ← momentum·m + (1 − momentum)·batch, the batch variance Bessel-corrected), and the saved
 * statistics FusedBatchNormGradV3 takes back to return dx, dγ, dβ in one op. tfjs's layer
 * composes the same from moments, batchNorm and their JavaScript gradients: 2.5–2.8× V1's
 * training CPU time where these ops cost ~1.1× (bench/ml-batchnorm.ts --kernels).
 */
export function nativeBatchNormStep(layer: Layer): (x: Tensor) => Tensor {
  const tf = tensorflow();
  const config = layer.getConfig() as BatchNormConfig;
  const axis = Array.isArray(config.axis) ? config.axis : [config.axis ?? -1];
  if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== 3) || config.center === false || config.scale === false)
    throw new InvalidInputError(`layer ${layer.name}: the native BN step needs axis -1 with centre and scale`);
  const { gamma, beta, movingMean, movingVariance } = batchNormVariables(layer);
  const momentum = config.momentum ?? 0.99;
  const backend = tf.backend() as unknown as NativeBackend;
  const { TF_ATTR_TYPE, TF_ATTR_FLOAT, TF_ATTR_STRING, TF_ATTR_BOOL } = backend.binding;
  const attrs = [
    { name: 'T', type: TF_ATTR_TYPE, value: DT_FLOAT },
    { name: 'U', type: TF_ATTR_TYPE, value: DT_FLOAT },
    { name: 'epsilon', type: TF_ATTR_FLOAT, value: config.epsilon ?? 1e-3 },
    { name: 'data_format', type: TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: TF_ATTR_BOOL, value: true },
  ];
  // The op updates the running statistics itself (running ← (1 − f)·running + f·batch, f = 1 −
  // momentum; TensorFlow ≥ 2.4): one op instead of eight small ones per layer and step.
  const average = [...attrs, { name: 'exponential_avg_factor', type: TF_ATTR_FLOAT, value: 1 - momentum }];
  const normalise = tf.customGrad(((x: Tensor, scale: Tensor, offset: Tensor, save: (ts: Tensor[]) => void) => {
    const [y, runningMean, runningVariance, r1, r2, r3] = backend.executeMultipleOutputs(
      'FusedBatchNormV3',
      average,
      [x, scale, offset, movingMean.read(), movingVariance.read()],
      6,
    ) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    movingMean.write(runningMean);
    movingVariance.write(runningVariance);
    save([x, scale, r1, r2, r3]);
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [dx, dScale, dOffset] = backend.executeMultipleOutputs('FusedBatchNormGradV3', attrs, [dy, ...saved], 5);
        return [dx, dScale, dOffset];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (x) => normalise(x, gamma.read(), beta.read()) as Tensor;
}

export interface AdaptOptions {
  /** The source prior's strength N in images (default BATCH_NORM_PRIOR). 0: the target's statistics alone. */
  prior?: number;
  /** Images per forward chunk (memory bound; the statistics are exact sums over all chunks). */
  chunk?: number;
}

export interface AdaptResult {
  /** Images the statistics were estimated on (n). */
  images: number;
  /** Weight of the target statistics, n/(N+n). */
  targetWeight: number;
  /** Per BN layer: mean absolute change of the moving mean and of the moving variance. */
  layers: { name: string; meanShift: number; varianceShift: number }[];
}

/**
 * Re-estimates, in place, every BN layer's moving mean and variance on `images` (no labels
 * used), layer after layer: a later layer's statistics are those of its input with the earlier
 * layers already adapted, as at prediction time. Needs a Sequential model.
 */
export function adaptBatchNorm(model: LayersModel, images: ImageSet, options: AdaptOptions = {}): AdaptResult {
  const tf = tensorflow();
  const prior = options.prior ?? BATCH_NORM_PRIOR;
  const chunk = options.chunk ?? 400;
  if (!(prior >= 0) || !Number.isFinite(prior))
    throw new InvalidInputError(`prior must be a non-negative number of images, got ${prior}`);
  if (!Number.isInteger(chunk) || chunk < 1)
    throw new InvalidInputError(`chunk must be a positive integer, got ${chunk}`);
  if (images.count < 2)
    throw new InvalidInputError(`adapting BN statistics needs at least 2 images, got ${images.count}`);
  if (model.getClassName() !== 'Sequential')
    throw new InvalidInputError(`adapting BN statistics needs a Sequential model, got ${model.getClassName()}`);
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  if (!layers.some(isBatchNorm)) throw new InvalidInputError('the model has no BatchNormalization layer to adapt');
  const n = images.count;
  const targetWeight = n / (prior + n);
  const all = imagesToTensor(images);
  const changes: AdaptResult['layers'] = [];
  try {
    const starts = Array.from({ length: Math.ceil(n / chunk) }, (_, i) => i * chunk);
    // Each chunk's activations at the current layer; advanced one layer at a time so every BN
    // layer sees its input through the already adapted layers before it.
    let hs: Tensor[] = starts.map((s) => tf.slice(all, [s], [Math.min(chunk, n - s)]));
    for (const layer of layers) {
      if (isBatchNorm(layer)) {
        const [sourceMean, sourceVariance] = movingStatistics(layer);
        // Exact mean and (population) variance over all chunks: per-channel sums of x and x².
        const [targetMean, targetVariance] = tf.tidy(() => {
          const axes = (hs[0] as Tensor).shape.map((_, i) => i).slice(0, -1);
          const sum = tf.addN(hs.map((h) => tf.sum(h, axes)));
          const squares = tf.addN(hs.map((h) => tf.sum(tf.square(h), axes)));
          const count = hs.reduce((c, h) => c + h.size / (h.shape.at(-1) ?? 1), 0);
          const m = tf.div(sum, count);
          return [m, tf.relu(tf.sub(tf.div(squares, count), tf.square(m)))];
        });
        const blend = (source: Tensor, target: Tensor) =>
          tf.tidy(() => tf.add(tf.mul(source, 1 - targetWeight), tf.mul(target, targetWeight)));
        const mean = blend(sourceMean, targetMean as Tensor);
        const variance = blend(sourceVariance, targetVariance as Tensor);
        changes.push({
          name: layer.name,
          meanShift: tf.tidy(() => tf.mean(tf.abs(tf.sub(mean, sourceMean))).dataSync()[0] ?? NaN),
          varianceShift: tf.tidy(() => tf.mean(tf.abs(tf.sub(variance, sourceVariance))).dataSync()[0] ?? NaN),
        });
        setMovingStatistics(layer, mean, variance);
        tf.dispose([targetMean as Tensor, targetVariance as Tensor, mean, variance]);
      }
      const next = hs.map((h) => tf.tidy(() => layer.apply(h) as Tensor));
      tf.dispose(hs);
      hs = next;
    }
    tf.dispose(hs);
    return { images: n, targetWeight, layers: changes };
  } finally {
    all.dispose();
  }
}

type LayerVariable = Layer['weights'][number];

/**
 * A BN layer's variables, from tfjs's own fields: not by name, since a model loaded in a process
 * that already holds one of the same layer names gets suffixed variable names (gamma_1, …).
 */
function batchNormVariables(layer: Layer): Record<'gamma' | 'beta' | 'movingMean' | 'movingVariance', LayerVariable> {
  const fields = layer as unknown as Partial<Record<'gamma' | 'beta' | 'movingMean' | 'movingVariance', LayerVariable>>;
  const { gamma, beta, movingMean, movingVariance } = fields;
  if (!gamma || !beta || !movingMean || !movingVariance)
    throw new InvalidInputError(`layer ${layer.name}: BN with centre, scale and moving statistics expected (built)`);
  return { gamma, beta, movingMean, movingVariance };
}

/** [moving mean, moving variance] of a BN layer (the layer's own tensors: do not dispose). */
function movingStatistics(layer: Layer): [Tensor, Tensor] {
  const { movingMean, movingVariance } = batchNormVariables(layer);
  return [movingMean.read(), movingVariance.read()];
}

function setMovingStatistics(layer: Layer, mean: Tensor, variance: Tensor): void {
  // write shares the tensor's data (reference counted): the caller may dispose its own handle.
  const { movingMean, movingVariance } = batchNormVariables(layer);
  movingMean.write(mean);
  movingVariance.write(variance);
}

/** Copies of every BN layer's moving statistics, to restore after an adaptation (`restoreBatchNorm`). */
export function saveBatchNorm(model: LayersModel): Tensor[] {
  return batchNormLayers(model).flatMap((l) => movingStatistics(l).map((t) => t.clone()));
}

export function restoreBatchNorm(model: LayersModel, saved: Tensor[]): void {
  batchNormLayers(model).forEach((layer, i) =>
    setMovingStatistics(layer, saved[2 * i] as Tensor, saved[2 * i + 1] as Tensor),
  );
}
