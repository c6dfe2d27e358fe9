/**
 * The training loop of every Scanflow model, in place of tfjs's `model.fit`. Measured on the
 * classifier (batch 128, 2 cores), fit spent most of a step in JavaScript bookkeeping and in
 * slow gradients: 336 kernels per step (metrics, loss with clipping and one-hot, per-batch
 * slicing of the whole epoch's tensors rebuilt every epoch). This loop:
 *
 * - puts the data on the backend once for the whole training, and draws each batch with one
 *   `gather` from a seeded permutation (no per-epoch copies of the data set);
 * - augments (`augment`) a whole chunk of the epoch's permutation per call (CHUNK_IMAGES, whole
 *   batches; one chunk alive at a time) and gathers the chunk's batches from it: augmenting each
 *   batch cost V1 1.2× its training time (~10 ops × 2,344 steps, per-op dispatch and whole-batch
 *   blur and noise); per chunk it is ~10 ops × 8 chunks an epoch, with the same distribution
 *   (every image a fresh variant each epoch, reproducible from the run's seed);
 * - computes only the loss the optimizer needs (no metrics);
 * - applies Adam or Adadelta to all variables at once (FlatOptimizer: one concatenated vector per
 *   accumulator, ~30 ops a step where tfjs's optimizers run ~15 ops per variable); any other
 *   optimizer goes through `optimizer.minimize`;
 * - gives every step of a dropout layer a fresh mask: tfjs's seeded Dropout layer draws the same
 *   mask on every call, so `fit` trained with one fixed mask (the seed is now per step, from the
 *   run's seed, so training stays reproducible);
 * - reads the loss once per batch (a scalar already computed on the CPU) and yields to the event
 *   loop whenever YIELD_EVERY_MS have passed since it last did: every tfjs-node op runs
 *   synchronously on the one JavaScript thread, so without yields the worker's other activities,
 *   its heartbeats and anything else on that thread (the demo's traffic client) wait for the
 *   training. Yielding every 50 batches left them waiting 0.6–2.5 s at a time: the demo's p99
 *   latency during a retrain was that wait, not the model server's.
 *
 * The slow gradients themselves are replaced in fast-kernels.ts.
 */
import type { LayersModel, Optimizer, Scalar, Tensor, Variable } from '@tensorflow/tfjs-node';
import { Rng } from './random.js';
import { tensorflow } from './tf.js';
import { InvalidInputError } from './errors.js';

export interface LoopOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  /** The scalar loss of a batch: predictions (model output) against targets. */
  loss: (predictions: Tensor, targets: Tensor) => Scalar;
  onEpoch?: (epoch: number, loss: number) => void | Promise<void>;
  /** Called every 50 batches (heartbeats go here). */
  onProgress?: () => void;
  /**
   * Applied to each chunk of an epoch's shuffled inputs before its batches are cut from it (data
   * augmentation, augment.ts), with the chunk's own seed (from the run's seed, the epoch and the
   * chunk): a fresh variant of every sample each epoch, reproducible from the run's seed. Returns
   * a new tensor with the same first axis (the loop disposes it after the chunk's batches).
   */
  augment?: (inputs: Tensor, chunkSeed: number) => Tensor;
  /**
   * Images per chunk (rounded down to whole batches, at least one batch); default CHUNK_IMAGES.
   * Bounds the memory of one chunk and its augmentation's intermediates (8,192 × 784 × 4 B = 26 MB).
   */
  chunkImages?: number;
  /** Yield to the event loop once this many milliseconds have passed since the last yield; default YIELD_EVERY_MS. */
  yieldEveryMs?: number;
}

/**
 * Default longest stretch the loop keeps the JavaScript thread (one or two steps: a step at batch
 * 32 takes ~12 ms on this machine). A yield is one `setImmediate`, microseconds when nothing waits.
 */
export const YIELD_EVERY_MS = 20;

/** Default images per chunk: few augmentation calls an epoch, small intermediates (see LoopOptions.chunkImages). */
export const CHUNK_IMAGES = 8192;

/**
 * The seed of one chunk's augmentation: from the run's seed, the epoch and the chunk's index, a
 * stream apart from the shuffles' and the dropout masks' (so adding augmentation changes neither).
 */
export function chunkSeed(seed: number, epoch: number, chunk: number): number {
  return Rng.derive(seed, 0xa06, epoch, chunk).nextUint32();
}

export interface LoopResult {
  epochs: number;
  samples: number;
  /** Mean loss over the last epoch's batches. */
  finalLoss: number;
  seconds: number;
  imagesPerSecond: number;
}

/**
 * Trains `model` in place with its compiled optimizer on `inputs` → `targets` (first axis =
 * samples; neither is disposed). One seeded shuffle per epoch; the last batch may be smaller.
 */
export async function trainLoop(
  model: LayersModel,
  inputs: Tensor,
  targets: Tensor,
  options: LoopOptions,
): Promise<LoopResult> {
  const tf = tensorflow();
  const count = inputs.shape[0] ?? 0;
  if (!Number.isInteger(options.epochs) || options.epochs < 1)
    throw new InvalidInputError(`epochs must be a positive integer, got ${options.epochs}`);
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1)
    throw new InvalidInputError(`batchSize must be a positive integer, got ${options.batchSize}`);
  const chunkImages = options.chunkImages ?? CHUNK_IMAGES;
  if (!Number.isInteger(chunkImages) || chunkImages < 1)
    throw new InvalidInputError(`chunkImages must be a positive integer, got ${String(options.chunkImages)}`);
  const yieldEveryMs = options.yieldEveryMs ?? YIELD_EVERY_MS;
  if (!(Number.isFinite(yieldEveryMs) && yieldEveryMs >= 0))
    throw new InvalidInputError(`yieldEveryMs must be a number >= 0, got ${String(options.yieldEveryMs)}`);
  if (count < 1 || targets.shape[0] !== count)
    throw new InvalidInputError(`training needs as many targets as inputs (≥ 1), got ${targets.shape[0]} for ${count}`);
  const optimizer = model.optimizer as Optimizer | undefined;
  if (!optimizer) throw new InvalidInputError('the model must be compiled (it has no optimizer)');
  const variables = model.trainableWeights.map((w) => w.read() as Variable);
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const sequential = model.getClassName() === 'Sequential';
  const rng = new Rng(options.seed);
  const identity = Array.from({ length: count }, (_, i) => i);

  const flat = FlatOptimizer.for(optimizer, variables);
  const steps = layers.map(layerStep);
  const forward = (x: Tensor, stepSeed: number): Tensor => {
    if (!sequential) return model.apply(x, { training: true }) as Tensor;
    return steps.reduce((h, step) => step(h, stepSeed), x);
  };

  // Whole batches per chunk, so that no batch straddles two chunks.
  const chunk = Math.max(1, Math.floor(chunkImages / options.batchSize)) * options.batchSize;
  const local = Int32Array.from({ length: Math.min(chunk, count) }, (_, i) => i);
  const started = performance.now();
  let lastYield = started;
  let finalLoss = NaN;
  let batch = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const order = Int32Array.from(rng.shuffled(identity));
    let lossSum = 0;
    let batches = 0;
    for (let from = 0, index = 0; from < count; from += chunk, index++) {
      const size = Math.min(chunk, count - from);
      // Augmented: the chunk's images, gathered and augmented in one call, and its targets; the
      // batches are then gathered from it by their place in the chunk. Not augmented: the batches
      // are gathered from the data themselves, as before chunks existed (the same ops).
      const augmented = options.augment
        ? tf.tidy(() => {
            const idx = tf.tensor1d(order.subarray(from, from + size), 'int32');
            const images = (options.augment as NonNullable<LoopOptions['augment']>)(
              tf.gather(inputs, idx),
              chunkSeed(options.seed, epoch, index),
            );
            return { images, targets: tf.gather(targets, idx) };
          })
        : undefined;
      const [xs, ys] = augmented ? [augmented.images, augmented.targets] : [inputs, targets];
      const places = augmented ? local.subarray(0, size) : order.subarray(from, from + size);
      try {
        for (let start = 0; start < size; start += options.batchSize) {
          // Dropout masks from (seed, step), not from the shuffling generator: the shuffles stay as before.
          const stepSeed = (Math.imul(options.seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(batch + 1, 0xc2b2ae35)) >>> 0;
          const loss = tf.tidy(() => {
            // Gathers in both cases: without augmentation these are the same ops as before chunks
            // existed (the Keras comparison's setting), so its figures stand.
            const idx = tf.tensor1d(places.subarray(start, Math.min(size, start + options.batchSize)), 'int32');
            const x = tf.gather(xs, idx);
            const y = tf.gather(ys, idx);
            const lossOf = () => options.loss(forward(x, stepSeed), y);
            if (!flat) return optimizer.minimize(lossOf, true, variables) as Scalar;
            const { value, grads } = tf.variableGrads(lossOf, variables);
            flat.apply(
              variables,
              variables.map((v) => grads[v.name] as Tensor),
            );
            return value;
          });
          lossSum += (loss.dataSync() as Float32Array)[0] ?? NaN;
          loss.dispose();
          batches += 1;
          batch += 1;
          if (batch % 50 === 0) options.onProgress?.();
          if (performance.now() - lastYield >= yieldEveryMs) {
            await new Promise((resolve) => setImmediate(resolve));
            lastYield = performance.now();
          }
        }
      } finally {
        if (augmented) tf.dispose([augmented.images, augmented.targets]);
      }
    }
    finalLoss = lossSum / batches;
    await options.onEpoch?.(epoch, finalLoss);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    epochs: options.epochs,
    samples: count,
    finalLoss,
    seconds,
    imagesPerSecond: (count * options.epochs) / seconds,
  };
}

type LayerStep = (x: Tensor, stepSeed: number) => Tensor;

interface LayerConfig {
  activation?: string;
  padding?: 'valid' | 'same';
  strides?: number | number[];
  dilationRate?: number | number[];
  dataFormat?: string;
  useBias?: boolean;
  rate?: number;
  noiseShape?: unknown;
}

const ACTIVATIONS = ['relu', 'linear', 'softmax', 'sigmoid'];

/**
 * How one layer runs in training. Conv2D and Dense run as plain conv/matMul + bias + activation
 * ops, not tfjs's fused kernels: the fused kernels' gradient derives ReLU through `step` (five
 * ops), the plain Relu through TensorFlow's one ReluGrad op (fast-kernels.ts). Dropout gets a
 * fresh native mask per step. Any other layer or configuration runs as the layer itself.
 */
function layerStep(layer: LayersModel['layers'][number]): LayerStep {
  const tf = tensorflow();
  const kind = layer.getClassName();
  const config = layer.getConfig() as LayerConfig;
  const activate = (h: Tensor): Tensor =>
    config.activation === 'relu'
      ? tf.relu(h)
      : config.activation === 'softmax'
        ? tf.softmax(h)
        : config.activation === 'sigmoid'
          ? tf.sigmoid(h)
          : h;
  const same = (v: number | number[] | undefined) => (Array.isArray(v) ? v.every((x) => x === v[0]) : true);
  const plain =
    ACTIVATIONS.includes(config.activation ?? 'linear') &&
    (config.dataFormat ?? 'channelsLast') === 'channelsLast' &&
    same(config.strides) &&
    [undefined, 1, [1, 1]].some((d) => JSON.stringify(d) === JSON.stringify(config.dilationRate));
  if (kind === 'Dropout' && (config.rate ?? 0) > 0 && config.noiseShape == null)
    return (h, seed) => dropout(h, config.rate ?? 0, seed);
  if (kind === 'Dropout') return (h) => h;
  if (kind === 'Conv2D' && plain) {
    const [kernel, bias] = layer.trainableWeights.map((w) => w.read());
    const strides = Array.isArray(config.strides) ? (config.strides[0] ?? 1) : (config.strides ?? 1);
    return (h) => {
      let z = tf.conv2d(h as TfRank4, kernel as TfRank4, strides, config.padding ?? 'valid') as Tensor;
      if (bias && config.useBias !== false) z = tf.add(z, bias);
      return activate(z);
    };
  }
  if (kind === 'Dense' && plain) {
    const [kernel, bias] = layer.trainableWeights.map((w) => w.read());
    return (h) => {
      if (h.rank !== 2) return layer.apply(h) as Tensor;
      let z = tf.matMul(h as TfRank2, kernel as TfRank2) as Tensor;
      if (bias && config.useBias !== false) z = tf.add(z, bias);
      return activate(z);
    };
  }
  return (h) => layer.apply(h) as Tensor;
}

type TfRank4 = import('@tensorflow/tfjs-node').Tensor4D;
type TfRank2 = import('@tensorflow/tfjs-node').Tensor2D;

/** Sparse categorical cross-entropy on softmax outputs (clipped as Keras does), labels int32. */
export function sparseCrossEntropy(probabilities: Tensor, labels: Tensor): Scalar {
  const tf = tensorflow();
  return tf.tidy(() => {
    const classes = probabilities.shape[1] ?? 0;
    const picked = tf.sum(tf.mul(probabilities, tf.oneHot(labels as TfInt1D, classes)), 1);
    return tf.neg(tf.mean(tf.log(tf.clipByValue(picked, 1e-7, 1 - 1e-7)))) as Scalar;
  });
}

/** Mean squared error (the autoencoder's reconstruction loss). */
export function meanSquaredError(predictions: Tensor, targets: Tensor): Scalar {
  const tf = tensorflow();
  return tf.mean(tf.squaredDifference(predictions, targets)) as Scalar;
}

type TfInt1D = import('@tensorflow/tfjs-node').Tensor1D;

/**
 * Inverted dropout with a mask from TensorFlow's StatelessRandomUniform (one native op, seeded by
 * `seed`; tf.dropout draws its uniforms in JavaScript and uploads them). Gradient: the same mask.
 */
function dropout(x: Tensor, rate: number, seed: number): Tensor {
  const tf = tensorflow();
  const backend = tf.backend() as unknown as NativeBackend;
  const u = tf.tidy(() => {
    const shape = tf.tensor1d(x.shape, 'int32');
    const seeds = tf.tensor1d([seed & 0x7fffffff, 0x5eed], 'int32');
    const type = (name: string, dtype: number) => ({ name, type: backend.binding.TF_ATTR_TYPE, value: dtype });
    return backend.executeSingleOutput(
      'StatelessRandomUniform',
      [type('dtype', DT_FLOAT), type('T', DT_INT32), type('Tseed', DT_INT32)],
      [shape, seeds],
    );
  });
  const mask = tf.tidy(() => tf.mul(tf.cast(tf.greaterEqual(u, rate), 'float32'), 1 / (1 - rate)));
  u.dispose();
  return tf.mul(x, mask);
}

const DT_FLOAT = 1;
const DT_INT32 = 3;

interface NativeBackend {
  binding: { TF_ATTR_TYPE: number };
  executeSingleOutput(name: string, attrs: { name: string; type: number; value: unknown }[], inputs: Tensor[]): Tensor;
}

interface OptimizerSettings {
  learningRate: number;
  beta1: number;
  beta2: number;
  rho: number;
  epsilon: number;
}

/**
 * Adam or Adadelta over all variables at once (Adam as TensorFlow's ApplyAdam, Adadelta as tfjs's):
 *   Adam:     m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,  θ ← θ − lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε)
 *   Adadelta: u = √(b + ε)/√(a + ε) · g,  a ← ρ·a + (1−ρ)·g²,  b ← ρ·b + (1−ρ)·u²,  θ ← θ − lr·u
 *             (tfjs's order: u uses the accumulator before this step, where TensorFlow's uses it after)
 * Each accumulator is one flat vector; the state lives beside the tfjs optimizer it replaces
 * (same hyper-parameters), so training twice with one compiled model continues it. tfjs's own
 * optimizers run ~15 ops per variable per step and upload a scalar for every constant.
 */
class FlatOptimizer {
  private static readonly states = new WeakMap<Optimizer, FlatOptimizer>();
  private first: Tensor;
  private second: Tensor;
  private t = 0;
  private readonly consts: Record<'a' | 'ac' | 'b' | 'bc' | 'eps', Tensor>;

  static for(optimizer: Optimizer, variables: Variable[]): FlatOptimizer | undefined {
    const kind = optimizer.getClassName();
    if (kind !== 'Adam' && kind !== 'Adadelta') return undefined;
    let state = FlatOptimizer.states.get(optimizer);
    const sizes = variables.map((v) => v.size);
    if (!state || state.sizes.join() !== sizes.join()) {
      state?.dispose();
      state = new FlatOptimizer(kind, optimizer as unknown as OptimizerSettings, sizes);
      FlatOptimizer.states.set(optimizer, state);
    }
    return state;
  }

  private constructor(
    private readonly kind: 'Adam' | 'Adadelta',
    private readonly settings: OptimizerSettings,
    private readonly sizes: number[],
  ) {
    const tf = tensorflow();
    const total = sizes.reduce((a, b) => a + b, 0);
    this.first = tf.keep(tf.zeros([total]));
    this.second = tf.keep(tf.zeros([total]));
    const [a, b] = kind === 'Adam' ? [settings.beta1, settings.beta2] : [settings.rho, settings.rho];
    this.consts = {
      a: tf.keep(tf.scalar(a)),
      ac: tf.keep(tf.scalar(1 - a)),
      b: tf.keep(tf.scalar(b)),
      bc: tf.keep(tf.scalar(1 - b)),
      eps: tf.keep(tf.scalar(settings.epsilon)),
    };
  }

  /** One update of `variables` (the list it was made for) by `grads`, in the same order. */
  apply(variables: Variable[], grads: Tensor[]): void {
    const tf = tensorflow();
    const { a, ac, b, bc, eps } = this.consts;
    const { learningRate, beta1, beta2 } = this.settings;
    this.t += 1;
    const [first, second] = tf.tidy(() => {
      const g = tf.concat(grads.map((x) => (x.rank === 1 ? x : tf.reshape(x, [-1]))));
      let step: Tensor;
      let first: Tensor;
      let second: Tensor;
      if (this.kind === 'Adam') {
        first = tf.add(tf.mul(this.first, a), tf.mul(g, ac));
        second = tf.add(tf.mul(this.second, b), tf.mul(tf.square(g), bc));
        const lrT = (learningRate * Math.sqrt(1 - beta2 ** this.t)) / (1 - beta1 ** this.t);
        step = tf.div(tf.mul(first, tf.scalar(lrT)), tf.add(tf.sqrt(second), eps));
      } else {
        first = tf.add(tf.mul(this.first, a), tf.mul(tf.square(g), ac));
        // tfjs divides by the accumulator BEFORE this step's update (TensorFlow: after); the
        // detector was tuned and measured with tfjs's variant, so it is kept.
        const update = tf.mul(tf.div(tf.sqrt(tf.add(this.second, eps)), tf.sqrt(tf.add(this.first, eps))), g);
        second = tf.add(tf.mul(this.second, b), tf.mul(tf.square(update), bc));
        step = tf.mul(update, tf.scalar(learningRate));
      }
      const parts = tf.split(step, this.sizes);
      variables.forEach((variable, i) => {
        const part = parts[i] as Tensor;
        variable.assign(tf.sub(variable, variable.rank === 1 ? part : tf.reshape(part, variable.shape)));
      });
      return [tf.keep(first), tf.keep(second)];
    });
    this.first.dispose();
    this.second.dispose();
    this.first = first as Tensor;
    this.second = second as Tensor;
  }

  dispose(): void {
    tensorflow().dispose([this.first, this.second, ...Object.values(this.consts)]);
  }
}
