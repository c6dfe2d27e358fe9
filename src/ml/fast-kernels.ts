/**
 * Native fast paths for the two gradients that dominated training time on the native backend.
 * Measured per training step of the classifier (batch 128, 2 cores): tfjs-node's `Step` kernel
 * (the ReLU derivative every fused conv/dense layer's gradient calls) builds full-size tensors of
 * ones and alphas in JavaScript and runs 5 ops, ≈13 ms on the first conv layer's 2.8 M activations
 * where the 4 native ops below take ≈1 ms; TensorFlow's own `MaxPoolGrad` kernel (no oneDNN in
 * eager mode) takes ≈14 ms for the first pooling layer where the mask form below takes ≈1.5 ms.
 * Together they were ~3/4 of a training step.
 *
 * - ReLU's gradient: TensorFlow's ReluGrad (one op) for float32.
 * - `Step` (alpha 0, float32): select(isNaN(x), x, cast(x > 0)), the same values as tfjs's kernel
 *   (NaN stays NaN); any other alpha or dtype goes to tfjs-node's own kernel.
 * - MaxPool gradient, 2×2 windows with stride 2 ('valid', or 'same' on even sizes): dy routed to
 *   every position equal to its window's maximum (x == max), via reshapes that broadcast; the
 *   rows/columns a 'valid' pool dropped get zero. Differs from TensorFlow's MaxPoolGrad only on
 *   ties inside a window (every tied position gets dy instead of the first one), which after a
 *   ReLU are zeros whose own gradient is zero. Every other pooling uses tfjs's gradient.
 *
 * Installed once by `tensorflow()` (tf.ts), so model.fit, our training loop and every model
 * trained in this process use them.
 */
import type * as TF from '@tensorflow/tfjs-node';

type Tf = typeof TF;
type Tensor = TF.Tensor;
type Tensor4D = TF.Tensor4D;

let installed = false;

export function installFastKernels(tf: Tf): void {
  if (installed) return;
  installed = true;
  installFastStep(tf);
  installFastReluGradient(tf);
  installFastMaxPoolGradient(tf);
}

const DT_FLOAT = 1;

interface NativeBackend {
  binding: { TF_ATTR_TYPE: number };
  executeSingleOutput(name: string, attrs: { name: string; type: number; value: unknown }[], inputs: Tensor[]): Tensor;
}

/** tfjs-node's backend: runs any TensorFlow op by name (eager). */
export function native(tf: Tf): NativeBackend {
  return tf.backend() as unknown as NativeBackend;
}

export function typeAttr(tf: Tf, name: string, dtype: number): { name: string; type: number; value: number } {
  return { name, type: native(tf).binding.TF_ATTR_TYPE, value: dtype };
}

let zeroScalar: Tensor | undefined;
const zero = (tf: Tf): Tensor => (zeroScalar ??= tf.keep(tf.scalar(0, 'float32')));

/** ReLU's gradient as TensorFlow's one ReluGrad op (tfjs: mul(dy, cast(step(x))), five ops and more). */
function installFastReluGradient(tf: Tf): void {
  if (!tf.getGradient('Relu')) return;
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [Tensor];
      return {
        x: () =>
          x.dtype === 'float32'
            ? native(tf).executeSingleOutput('ReluGrad', [typeAttr(tf, 'T', DT_FLOAT)], [dy as Tensor, x])
            : tf.mul(dy as Tensor, tf.cast(tf.step(x), 'float32')),
      };
    },
  });
}

function installFastStep(tf: Tf): void {
  const original = tf.getKernel('Step', 'tensorflow');
  if (!original) return;
  tf.unregisterKernel('Step', 'tensorflow');
  tf.registerKernel({
    kernelName: 'Step',
    backendName: 'tensorflow',
    kernelFunc: (args) => {
      const x = args.inputs.x as Tensor;
      const alpha = (args.attrs as { alpha?: number } | undefined)?.alpha ?? 0;
      if (alpha !== 0 || x.dtype !== 'float32') return original.kernelFunc(args);
      return tf.tidy(() => tf.where(tf.isNaN(x), x, tf.cast(tf.greater(x, zero(tf)), 'float32')));
    },
  });
}

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: string;
}

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

function installFastMaxPoolGradient(tf: Tf): void {
  const original = tf.getGradient('MaxPool');
  if (!original) return;
  tf.registerGradient({
    kernelName: 'MaxPool',
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, y] = saved as [Tensor4D, Tensor4D];
      const a = attrs as unknown as PoolAttrs;
      const [fh, fw] = pair(a.filterSize);
      const [sh, sw] = pair(a.strides);
      const [n, h, w, c] = x.shape;
      const [, oh, ow] = y.shape;
      const fits =
        fh === 2 &&
        fw === 2 &&
        sh === 2 &&
        sw === 2 &&
        a.dimRoundingMode === undefined &&
        (a.pad === 'valid' || (a.pad === 'same' && h % 2 === 0 && w % 2 === 0)) &&
        oh * 2 <= h &&
        ow * 2 <= w;
      if (!fits) return original.gradFunc(dy, saved, attrs);
      return {
        x: () =>
          tf.tidy(() => {
            const used = oh * 2 === h && ow * 2 === w ? x : tf.slice(x, [0, 0, 0, 0], [n, oh * 2, ow * 2, c]);
            const windows = tf.reshape(used, [n, oh, 2, ow, 2, c]);
            const max = tf.reshape(y, [n, oh, 1, ow, 1, c]);
            const grad = tf.reshape(dy as Tensor, [n, oh, 1, ow, 1, c]);
            // SelectV2 broadcasts: one op where tfjs's where() would tile first.
            const routed = tf.reshape(
              native(tf).executeSingleOutput(
                'SelectV2',
                [typeAttr(tf, 'T', DT_FLOAT)],
                [tf.equal(windows, max), grad, zero(tf)],
              ),
              [n, oh * 2, ow * 2, c],
            );
            return used === x
              ? routed
              : tf.pad(routed, [
                  [0, 0],
                  [0, h - oh * 2],
                  [0, w - ow * 2],
                  [0, 0],
                ]);
          }),
      };
    },
  });
}
