/**
 * The improved detector score. The autoencoder's L2 error alone misses corruptions that REMOVE
 * detail (blurs, shrinking): a blurred or smaller digit is easier to reconstruct, so its error
 * drops below the clean ones (AUROC < 0.5). We describe each image by a few cheap statistics
 * next to the reconstruction error — log error, log ink mass, share of grey (neither black nor
 * white) pixels, ink centroid and second moments, error outside the ink — and score it by its
 * Mahalanobis distance from the clean reference population: a drift in either direction, on any
 * of them, raises the score. DriftDetector takes the larger of this distance and the plain L2
 * error (each in units of its clean 95th percentile), so nothing the original caught is lost.
 * Calibration stays Alibi-style: a percentile of clean scores.
 *
 * Caveat: the geometric corruptions (shear, rotate, scale) change the peak and grey-share features
 * through resampling (bilinear interpolation lowers the peak pixel and adds grey pixels), a
 * footprint the published MNIST-C images carry too, so part of their detection may rest on it
 * rather than on the geometry itself.
 */
import type { ImageSet } from './types.js';
import { InvalidInputError } from './errors.js';

export const FEATURE_NAMES = [
  'logError',
  'logInk',
  'greyShare',
  'rowCentroid',
  'colCentroid',
  'rowSpread',
  'colSpread',
  'covariance',
  'peak',
] as const;
const D = FEATURE_NAMES.length;

export interface FeatureModel {
  mean: number[];
  /** Inverse covariance, D×D row-major. */
  precision: number[];
}

export function imageFeatures(images: ImageSet, reconErrors: ArrayLike<number>): Float64Array {
  if (reconErrors.length !== images.count)
    throw new InvalidInputError(`need one reconstruction error per image: ${reconErrors.length} for ${images.count}`);
  const out = new Float64Array(images.count * D);
  const size = images.height * images.width;
  const { width, height, pixels } = images;
  for (let n = 0; n < images.count; n++) {
    let ink = 0;
    let grey = 0;
    let r = 0;
    let c = 0;
    let peak = 0;
    const base = n * size;
    for (let y = 0; y < height; y++) {
      const row = base + y * width;
      for (let x = 0; x < width; x++) {
        const v = pixels[row + x] as number;
        ink += v;
        if (v > 0.1 && v < 0.9) grey += 1;
        if (v > peak) peak = v;
        r += v * y;
        c += v * x;
      }
    }
    const m = ink || 1e-6;
    r /= m;
    c /= m;
    let rr = 0;
    let cc = 0;
    let rc = 0;
    for (let y = 0; y < height; y++) {
      const row = base + y * width;
      const dr = y - r;
      for (let x = 0; x < width; x++) {
        const v = pixels[row + x] as number;
        const dc = x - c;
        rr += v * dr * dr;
        cc += v * dc * dc;
        rc += v * dr * dc;
      }
    }
    const f = [
      Math.log((reconErrors[n] ?? 0) + 1e-3),
      Math.log(ink + 1),
      grey / size,
      r,
      c,
      Math.sqrt(rr / m),
      Math.sqrt(cc / m),
      rc / m,
      peak,
    ];
    out.set(f, n * D);
  }
  return out;
}

export function fitFeatureModel(features: Float64Array): FeatureModel {
  const n = features.length / D;
  if (n < 2 * D)
    throw new InvalidInputError(`fitting the feature model needs at least ${2 * D} reference images, got ${n}`);
  const mean = new Array<number>(D).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) mean[j] = (mean[j] ?? 0) + (features[i * D + j] ?? 0) / n;
  const cov = new Array<number>(D * D).fill(0);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < D; a++) {
      const da = (features[i * D + a] ?? 0) - (mean[a] ?? 0);
      for (let b = 0; b < D; b++)
        cov[a * D + b] = (cov[a * D + b] ?? 0) + (da * ((features[i * D + b] ?? 0) - (mean[b] ?? 0))) / (n - 1);
    }
  }
  // A little ridge keeps the inverse stable when a feature barely varies (e.g. peak ≈ 1).
  for (let a = 0; a < D; a++) cov[a * D + a] = (cov[a * D + a] ?? 0) * 1.001 + 1e-6;
  return { mean, precision: invert(cov, D) };
}

export function mahalanobisScores(features: Float64Array, model: FeatureModel): Float32Array {
  const n = features.length / D;
  const out = new Float32Array(n);
  const diff = new Float64Array(D);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < D; j++) diff[j] = (features[i * D + j] ?? 0) - (model.mean[j] ?? 0);
    let s = 0;
    for (let a = 0; a < D; a++) {
      let row = 0;
      for (let b = 0; b < D; b++) row += (model.precision[a * D + b] ?? 0) * (diff[b] ?? 0);
      s += (diff[a] ?? 0) * row;
    }
    out[i] = Math.sqrt(Math.max(0, s));
  }
  return out;
}

/** Gauss–Jordan inverse with partial pivoting. */
function invert(m: number[], n: number): number[] {
  const a = m.slice();
  const inv = Array.from({ length: n * n }, (_, i): number => (i % (n + 1) === 0 ? 1 : 0));
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col] ?? 0) > Math.abs(a[pivot * n + col] ?? 0)) pivot = r;
    if (Math.abs(a[pivot * n + col] ?? 0) < 1e-12)
      throw new InvalidInputError('feature covariance is singular: reference images are too uniform');
    for (let k = 0; k < n; k++) {
      [a[col * n + k], a[pivot * n + k]] = [a[pivot * n + k] ?? 0, a[col * n + k] ?? 0];
      [inv[col * n + k], inv[pivot * n + k]] = [inv[pivot * n + k] ?? 0, inv[col * n + k] ?? 0];
    }
    const p = a[col * n + col] ?? 1;
    for (let k = 0; k < n; k++) {
      a[col * n + k] = (a[col * n + k] ?? 0) / p;
      inv[col * n + k] = (inv[col * n + k] ?? 0) / p;
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r * n + col] ?? 0;
      if (f === 0) continue;
      for (let k = 0; k < n; k++) {
        a[r * n + k] = (a[r * n + k] ?? 0) - f * (a[col * n + k] ?? 0);
        inv[r * n + k] = (inv[r * n + k] ?? 0) - f * (inv[col * n + k] ?? 0);
      }
    }
  }
  return inv;
}
