/**
 * Generic data augmentation of a batch of training images, on the native backend (a few ops per
 * call; the training loop calls it once per chunk of 8,192 images, training-loop.ts):
 * every image gets a small random affine warp, some get additive Gaussian noise or a Gaussian
 * blur. Used when fine-tuning on a few hundred labelled drifted samples plus a replay of MNIST,
 * so that each labelled sample is seen in new variants every epoch instead of memorised.
 *
 * Why these and these ranges (generic, not the drift's own generator): the affine ranges are the
 * usual Keras `ImageDataGenerator` settings for MNIST (rotation ±10°, zoom ±10 %, shift ±10 % of
 * the side), the classic digit augmentation since Simard et al. (2003); noise and blur are the
 * standard photometric jitter of generic pipelines. None of them calls src/ml/corruptions.ts, and
 * their magnitudes are fixed here, not fitted to the corruptions (MNIST-C rotates by 23°, shears
 * by 0.4, shrinks to 0.7, blurs with glass/motion/zoom kernels; none of those is drawn here).
 * Borders are filled with the nearest pixel, so a digit on a bright or striped background is not
 * given a black frame that clean digits never have.
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-node';
import { InvalidInputError } from './errors.js';
import { Rng } from './random.js';
import { tensorflow } from './tf.js';

export interface AugmentOptions {
  /** Largest rotation, degrees (uniform in ±). */
  rotateDegrees: number;
  /** Largest relative zoom (scale uniform in 1 ± zoom). */
  zoom: number;
  /** Largest shift, as a share of the side (uniform in ±, each axis). */
  shift: number;
  /** Share of the images given additive Gaussian noise, and its largest standard deviation. */
  noiseShare: number;
  noiseStd: number;
  /** Share of the images blurred (3×3 Gaussian, σ = 1, blended in at a random strength 0.5–1). */
  blurShare: number;
  /** Share of the images warped (the others keep their geometry); absent: all. */
  affineShare?: number;
  /**
   * Round each shift to whole pixels (with no rotation or zoom the warp then copies pixels,
   * no bilinear smoothing of the strokes); absent: false.
   */
  wholePixelShifts?: boolean;
  /**
   * Share of the images given a colour jitter (torchvision's ColorJitter on one channel): contrast
   * scaled by a factor in 1 ± `contrast` about the image's mean, then brightness shifted by up to
   * ± `brightness`; absent: none.
   */
  jitterShare?: number;
  brightness?: number;
  contrast?: number;
}

/** The generic setting (see the header for where the numbers come from). */
export const GENERIC_AUGMENTATION: AugmentOptions = {
  rotateDegrees: 10,
  zoom: 0.1,
  shift: 0.1,
  noiseShare: 0.3,
  noiseStd: 0.1,
  blurShare: 0.3,
};

/**
 * V1's augmentation (the bootstrap from scratch): the generic setting on half the images (the
 * other half keeps clean MNIST's geometry and sharpness) plus a colour jitter on half. Measured
 * with `npx tsx bench/ml.ts --recipes` (seeds 1, 2; MNIST-C mean over 15 × 2,000): the generic
 * setting on every image 78.9 % against 86.0 % without augmentation (translate 54 → 95 %, but
 * brightness 81 → 56 %, fog 66 → 50 %, stripe 72 → 32 %: a model that learned to ignore where the
 * digit is leans on the background); on half the images 81.0 %; with the jitter on half 86.8 %
 * (brightness 98 %, fog 97 %, translate 91 %; impulse_noise, stripe and canny_edges still lower).
 * The jitter's ranges (±0.4) are torchvision's usual ColorJitter(0.4, 0.4), not fitted. Under drift
 * (`npx tsx bench/ml.ts --adaptation`, 4 mixes × 2 stream seeds) this V1 is 90.1 % on the mixes'
 * last phases against 84.1 % without augmentation, and 95.1 % against 93.1 % after the demo's
 * retraining (the default mix alone: 92.0 % against 92.5 %). It cost 1.15× V1's training CPU time
 * drawn per batch; drawn per chunk of each epoch (training-loop.ts), with blur and noise computed on
 * their share only, 1.04× in the quiet bootstrap, and the same robustness (86.8 %, seeds 1, 2).
 */
export const V1_AUGMENTATION: AugmentOptions = {
  ...GENERIC_AUGMENTATION,
  affineShare: 0.5,
  noiseShare: 0.15,
  blurShare: 0.15,
  jitterShare: 0.5,
  brightness: 0.4,
  contrast: 0.4,
};

export function validateAugmentOptions(o: AugmentOptions): void {
  const check = (name: keyof AugmentOptions, max: number) => {
    const v = o[name];
    if (typeof v !== 'number' || !(v >= 0 && v <= max))
      throw new InvalidInputError(`augmentation ${name} must be a number in [0, ${max}], got ${JSON.stringify(v)}`);
  };
  check('rotateDegrees', 180);
  check('zoom', 0.9);
  check('shift', 1);
  check('noiseShare', 1);
  check('noiseStd', 1);
  check('blurShare', 1);
  if (o.affineShare !== undefined) check('affineShare', 1);
  if (o.jitterShare !== undefined) check('jitterShare', 1);
  if (o.brightness !== undefined) check('brightness', 1);
  if (o.contrast !== undefined) check('contrast', 1);
  if (o.wholePixelShifts !== undefined && typeof o.wholePixelShifts !== 'boolean')
    throw new InvalidInputError(
      `augmentation wholePixelShifts must be a boolean, got ${JSON.stringify(o.wholePixelShifts)}`,
    );
}

const DT_FLOAT = 1;
const DT_INT32 = 3;

/** The indices of the non-zero entries. */
function indicesWhere(values: Float32Array): number[] {
  const out: number[] = [];
  values.forEach((v, i) => {
    if (v > 0) out.push(i);
  });
  return out;
}

interface NativeBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_STRING: number };
  executeSingleOutput(name: string, attrs: { name: string; type: number; value: unknown }[], inputs: Tensor[]): Tensor;
}

/**
 * A new tensor: `x` ([n, h, w, 1], values in [0, 1]) augmented with randomness from `seed` only
 * (the same seed gives the same batch). The caller disposes it (or runs this inside a tidy).
 */
export function augmentBatch(x: Tensor4D, seed: number, options: AugmentOptions = GENERIC_AUGMENTATION): Tensor4D {
  const tf = tensorflow();
  const [n = 0, h = 0, w = 0, channels = 0] = x.shape;
  if (x.rank !== 4 || channels !== 1)
    throw new InvalidInputError(`augmentBatch needs [n, h, w, 1] images, got [${x.shape.join(', ')}]`);
  validateAugmentOptions(options);
  const rng = new Rng(seed);
  const backend = tf.backend() as unknown as NativeBackend;
  const type = (name: string, dtype: number) => ({ name, type: backend.binding.TF_ATTR_TYPE, value: dtype });
  const text = (name: string, value: string) => ({ name, type: backend.binding.TF_ATTR_STRING, value });

  // ImageProjectiveTransformV3 maps each OUTPUT pixel (x, y) to the input point it samples:
  // in = M·(out − c − t) + c with M = R(−θ)/s (the inverse of "scale by s, rotate by θ, shift by t").
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const transforms = new Float32Array(n * 8);
  const noiseStd = new Float32Array(n);
  const blur = new Float32Array(n);
  const affineShare = options.affineShare ?? 1;
  for (let i = 0; i < n; i++) {
    // Without affineShare (or at 1) no extra draw: the same batches as before it existed.
    const warp = affineShare >= 1 || rng.next() < affineShare ? 1 : 0;
    const theta = (warp * rng.uniform(-1, 1) * options.rotateDegrees * Math.PI) / 180;
    const s = 1 + warp * rng.uniform(-1, 1) * options.zoom;
    const round = options.wholePixelShifts ? Math.round : (v: number) => v;
    const tx = round(warp * rng.uniform(-1, 1) * options.shift * w);
    const ty = round(warp * rng.uniform(-1, 1) * options.shift * h);
    const [m00, m01, m10, m11] = [Math.cos(theta) / s, Math.sin(theta) / s, -Math.sin(theta) / s, Math.cos(theta) / s];
    const px = cx + tx;
    const py = cy + ty;
    transforms.set([m00, m01, cx - (m00 * px + m01 * py), m10, m11, cy - (m10 * px + m11 * py), 0, 0], i * 8);
    noiseStd[i] = rng.next() < options.noiseShare ? rng.uniform(0, options.noiseStd) : 0;
    blur[i] = rng.next() < options.blurShare ? rng.uniform(0.5, 1) : 0;
  }
  const noiseSeed = rng.nextUint32() & 0x7fffffff;
  // Drawn after everything above, so batches without jitter are the same as before it existed.
  const jitterShare = options.jitterShare ?? 0;
  const gain = new Float32Array(n).fill(1);
  const offset = new Float32Array(n);
  if (jitterShare > 0)
    for (let i = 0; i < n; i++) {
      if (rng.next() >= jitterShare) continue;
      gain[i] = 1 + rng.uniform(-1, 1) * (options.contrast ?? 0);
      offset[i] = rng.uniform(-1, 1) * (options.brightness ?? 0);
    }
  return tf.tidy(() => {
    let out = backend.executeSingleOutput(
      'ImageProjectiveTransformV3',
      [type('dtype', DT_FLOAT), text('interpolation', 'BILINEAR'), text('fill_mode', 'NEAREST')],
      [x, tf.tensor2d(transforms, [n, 8]), tf.tensor1d([h, w], 'int32'), tf.scalar(0)],
    ) as Tensor4D;
    // Blur and noise go to a share of the images only (15 % each in V1's setting): they are computed
    // on those images (gathered, then written back in place), not on the whole chunk and blended
    // in with zero weight elsewhere, which cost 60 % of V1's augmentation time.
    const blurred = indicesWhere(blur);
    if (blurred.length > 0) {
      const idx = tf.tensor2d(blurred, [blurred.length, 1], 'int32');
      const some = tf.gatherND(out, idx) as Tensor4D;
      const g = [0.0751, 0.1238, 0.0751, 0.1238, 0.2042, 0.1238, 0.0751, 0.1238, 0.0751]; // 3×3, σ = 1, sums to 1
      const smooth = tf.conv2d(
        tf.mirrorPad(
          some,
          [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ],
          'symmetric',
        ),
        tf.tensor4d(g, [3, 3, 1, 1]),
        1,
        'valid',
      );
      const weight = tf.tensor4d(
        blurred.map((i) => blur[i] ?? 0),
        [blurred.length, 1, 1, 1],
      );
      out = tf.tensorScatterUpdate(out, idx, tf.add(some, tf.mul(weight, tf.sub(smooth, some))));
    }
    const noised = indicesWhere(noiseStd);
    if (noised.length > 0) {
      const idx = tf.tensor2d(noised, [noised.length, 1], 'int32');
      const normal = backend.executeSingleOutput(
        'StatelessRandomNormal',
        [type('dtype', DT_FLOAT), type('T', DT_INT32), type('Tseed', DT_INT32)],
        [tf.tensor1d([noised.length, h, w, 1], 'int32'), tf.tensor1d([noiseSeed, 0xa11], 'int32')],
      );
      const std = tf.tensor4d(
        noised.map((i) => noiseStd[i] ?? 0),
        [noised.length, 1, 1, 1],
      );
      out = tf.tensorScatterUpdate(out, idx, tf.add(tf.gatherND(out, idx), tf.mul(normal, std)));
    }
    if (jitterShare > 0) {
      const meanOf = tf.mean(out, [1, 2, 3], true);
      const g = tf.tensor4d(gain, [n, 1, 1, 1]);
      out = tf.add(tf.add(tf.mul(tf.sub(out, meanOf), g), meanOf), tf.tensor4d(offset, [n, 1, 1, 1]));
    }
    return tf.clipByValue(out, 0, 1);
  });
}
