/**
 * A served model's forward pass as a straight list of TensorFlow ops. `model.apply` walks the
 * Layers graph on every call (symbolic bookkeeping, config lookups, one tidy scope per layer), JS
 * work that costs about as much as the native ops themselves at batch 1 (profiled in
 * src/serving/README.md). For a chain of the layers below, this runs the same ops on the same
 * weight tensors (conv and dense fused with their bias and activation, as tfjs itself does),
 * so it gives the same numbers; any other layer or setting makes `compileForwardPass` return
 * undefined and the caller keeps `model.apply`.
 *
 * Supported: Conv2D (channelsLast, no dilation), MaxPooling2D / AveragePooling2D (channelsLast),
 * Flatten, Dropout (identity at inference), Dense on a rank-2 input; activations linear, relu,
 * relu6, elu, sigmoid (fused), softmax and tanh (after the op); Activation layers of those;
 * BatchNormalization on the last axis, in inference mode: one native FusedBatchNorm op on the
 * layer's own moving statistics, γ and β (the op tfjs's layer runs), not folded into the conv
 * before it: folding would make new kernel tensors this function would have to own and free.
 */
import type * as TF from '@tensorflow/tfjs-node';
import type { Tf } from '../ml/tf.js';

type Step = (x: TF.Tensor) => TF.Tensor;
type FusedActivation = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid';
const FUSED = new Set<string>(['linear', 'relu', 'relu6', 'elu', 'sigmoid']);

interface LayerLike {
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): TF.Tensor[];
}

const same = (a: unknown, b: unknown[]) => JSON.stringify(a) === JSON.stringify(b);

/** The activation split into the part the op fuses and the part applied after it; undefined: unsupported. */
function activation(tf: Tf, name: unknown): { fused: FusedActivation; after?: Step } | undefined {
  const a = name ?? 'linear';
  if (typeof a !== 'string') return undefined;
  if (FUSED.has(a)) return { fused: a as FusedActivation };
  if (a === 'softmax') return { fused: 'linear', after: (x) => tf.softmax(x) };
  if (a === 'tanh') return { fused: 'linear', after: (x) => tf.tanh(x) };
  return undefined;
}

const ACTIVATION_OPS: Record<FusedActivation, (tf: Tf) => Step> = {
  linear: () => (x) => x,
  relu: (tf) => (x) => tf.relu(x),
  relu6: (tf) => (x) => tf.relu6(x),
  elu: (tf) => (x) => tf.elu(x),
  sigmoid: (tf) => (x) => tf.sigmoid(x),
};

/**
 * Inference-mode BN as tfjs's layer runs it on the last axis (tf.batchNorm on the moving mean and
 * variance, β, γ): undefined for another axis or without centre and scale.
 */
function batchNorm(tf: Tf, layer: LayerLike, rank: number): { run: Step; rank: number } | undefined {
  const config = layer.getConfig();
  const axis = Array.isArray(config.axis) ? (config.axis as unknown[]) : [config.axis ?? -1];
  if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== rank - 1)) return undefined;
  if (config.center === false || config.scale === false) return undefined;
  const weights = layer.getWeights();
  if (weights.length !== 4) return undefined;
  // Keras's (and tfjs's) weight order: gamma, beta, moving mean, moving variance.
  const [gamma, beta, mean, variance] = weights as [TF.Tensor1D, TF.Tensor1D, TF.Tensor1D, TF.Tensor1D];
  const epsilon = typeof config.epsilon === 'number' ? config.epsilon : 1e-3;
  return { run: (x) => tf.batchNorm(x, mean, variance, beta, gamma, epsilon), rank };
}

/** One layer as an op, given the rank of its input; undefined when the layer is not one we reproduce exactly. */
function step(tf: Tf, layer: LayerLike, rank: number): { run: Step; rank: number } | undefined {
  const config = layer.getConfig();
  const kind = layer.getClassName();
  if (kind === 'Dropout') return { run: (x) => x, rank };
  if (kind === 'Activation') {
    const act = activation(tf, config.activation);
    if (!act) return undefined;
    const fused = ACTIVATION_OPS[act.fused](tf);
    return { run: act.after ? (x) => act.after!(fused(x)) : fused, rank };
  }
  if (kind === 'BatchNormalization') return batchNorm(tf, layer, rank);
  if (kind === 'Flatten') {
    if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') return undefined;
    return { run: (x) => x.reshape([x.shape[0]!, -1]), rank: 2 };
  }
  if (kind === 'MaxPooling2D' || kind === 'AveragePooling2D') {
    if (rank !== 4 || config.dataFormat !== 'channelsLast') return undefined;
    const pool = config.poolSize as [number, number];
    const strides = (config.strides ?? pool) as [number, number];
    const pad = config.padding as 'valid' | 'same';
    const op = kind === 'MaxPooling2D' ? tf.maxPool : tf.avgPool;
    return { run: (x) => op(x as TF.Tensor4D, pool, strides, pad), rank: 4 };
  }
  const act = activation(tf, config.activation);
  if (!act) return undefined;
  const weights = layer.getWeights();
  const useBias = config.useBias !== false;
  if (weights.length !== (useBias ? 2 : 1)) return undefined;
  const [kernel, bias] = weights;
  const finish = (run: Step): Step => (act.after ? (x) => act.after!(run(x)) : run);
  if (kind === 'Conv2D') {
    if (rank !== 4 || config.dataFormat !== 'channelsLast' || !same(config.dilationRate, [1, 1])) return undefined;
    const strides = config.strides as [number, number];
    const pad = config.padding as 'valid' | 'same';
    return {
      run: finish((x) =>
        tf.fused.conv2d({
          x: x as TF.Tensor4D,
          filter: kernel as TF.Tensor4D,
          strides,
          pad,
          ...(bias ? { bias } : {}),
          activation: act.fused,
        }),
      ),
      rank: 4,
    };
  }
  if (kind === 'Dense') {
    if (rank !== 2) return undefined;
    return {
      run: finish((x) =>
        tf.fused.matMul({
          a: x as TF.Tensor2D,
          b: kernel as TF.Tensor2D,
          ...(bias ? { bias } : {}),
          activation: act.fused,
        }),
      ),
      rank: 2,
    };
  }
  return undefined;
}

/**
 * The model's layers as one function of the input tensor (rank `inputRank`), or undefined when a
 * layer is not supported. The weights are the model's own tensors: disposing the model frees them.
 */
export function compileForwardPass(tf: Tf, layers: LayerLike[], inputRank: number): Step | undefined {
  const steps: Step[] = [];
  let rank = inputRank;
  for (const layer of layers) {
    const s = step(tf, layer, rank);
    if (!s) return undefined;
    steps.push(s.run);
    rank = s.rank;
  }
  if (rank !== 2) return undefined;
  return (x) => steps.reduce((h, run) => run(h), x);
}
