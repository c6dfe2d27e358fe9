/**
 * The 15 MNIST-C corruptions (Mu & Gilmer 2019, google-research/mnist-c) in TypeScript, at the
 * severities the published dataset uses. Each takes one 28×28 image in [0,1] and a seeded Rng
 * and returns a new image in [0,1]; same image + same seed → same output.
 *
 * Where the reference code has a quirk that shapes the published images, we keep it and say so.
 */
import { Rng } from './random.js';
import { clamp01, gaussianBlur, warpAffine, type Gray } from './image-ops.js';
import { InvalidInputError } from './errors.js';

export const CORRUPTIONS = [
  'shot_noise',
  'impulse_noise',
  'glass_blur',
  'motion_blur',
  'shear',
  'scale',
  'rotate',
  'brightness',
  'translate',
  'stripe',
  'fog',
  'spatter',
  'dotted_line',
  'zigzag',
  'canny_edges',
] as const;

export type CorruptionName = (typeof CORRUPTIONS)[number];

const SIDE = 28;
const CENTRE = 13.5;

type Corruption = (img: Gray, rng: Rng) => Gray;

const map = (img: Gray, f: (v: number, i: number) => number): Gray => ({ h: img.h, w: img.w, px: img.px.map(f) });

/** Poisson(3x)/3. */
const shotNoise: Corruption = (img, rng) => map(img, (v) => clamp01(rng.poisson(v * 3) / 3));

/** Salt & pepper on 17% of the pixels, half salt, half pepper (skimage random_noise 's&p'). */
const impulseNoise: Corruption = (img, rng) =>
  map(img, (v) => {
    if (rng.next() >= 0.17) return v;
    return rng.next() < 0.5 ? 1 : 0;
  });

/**
 * Blur (σ 0.7), local pixel swaps (max delta 1, 2 iterations), blur again. The reference calls
 * skimage's gaussian with multichannel=True on a 2-D image, which blurs along rows only (the
 * column axis is taken for channels), quantises to uint8 in between, and draws offsets with
 * randint(-1, 1) ∈ {-1, 0}: all three kept.
 */
const glassBlur: Corruption = (img, rng) => {
  const blurred = verticalBlur(img, 0.7);
  const q = blurred.px.map((v) => Math.floor(clamp01(v) * 255));
  for (let it = 0; it < 2; it++) {
    for (let h = SIDE - 1; h > 1; h--) {
      for (let w = SIDE - 1; w > 1; w--) {
        if (rng.next() < 0.5) {
          const dx = rng.int(-1, 0);
          const dy = rng.int(-1, 0);
          const a = h * SIDE + w;
          const b = (h + dy) * SIDE + (w + dx);
          const t = q[a] ?? 0;
          q[a] = q[b] ?? 0;
          q[b] = t;
        }
      }
    }
  }
  return map(verticalBlur({ h: img.h, w: img.w, px: q.map((v) => v / 255) }, 0.7), clamp01);
};

function verticalBlur(img: Gray, sigma: number): Gray {
  // Blur along rows only: transpose, blur rows via a 1-row-high trick is awkward, so blur with the
  // full 2-D routine on each column treated as an image of width 1.
  const out = new Float32Array(img.px.length);
  for (let x = 0; x < img.w; x++) {
    const col = new Float32Array(img.h);
    for (let y = 0; y < img.h; y++) col[y] = img.px[y * img.w + x] ?? 0;
    const b = gaussianBlur({ h: img.h, w: 1, px: col }, sigma);
    for (let y = 0; y < img.h; y++) out[y * img.w + x] = b.px[y] ?? 0;
  }
  return { h: img.h, w: img.w, px: out };
}

/**
 * ImageMagick MotionBlurImage(radius 10, σ 3, angle U(−45°, 45°)): a one-sided blur, each pixel
 * the Gaussian-weighted mean of 2·radius+1 samples along the angle (weights exp(−i²/2σ²)).
 */
const motionBlur: Corruption = (img, rng) => {
  const angle = (rng.uniform(-45, 45) * Math.PI) / 180;
  const width = 2 * 10 + 1;
  const sigma = 3;
  const weights = Array.from({ length: width }, (_, i) => Math.exp(-(i * i) / (2 * sigma * sigma)));
  const total = weights.reduce((a, b) => a + b, 0);
  const ux = Math.cos(angle);
  const uy = Math.sin(angle);
  const out = new Float32Array(img.px.length);
  for (let y = 0; y < img.h; y++) {
    for (let x = 0; x < img.w; x++) {
      let s = 0;
      for (let i = 0; i < width; i++) {
        // ImageMagick's default virtual pixels repeat the edge; nearest-pixel sampling as IM does.
        const sx = Math.min(img.w - 1, Math.max(0, Math.round(x + i * ux)));
        const sy = Math.min(img.h - 1, Math.max(0, Math.round(y + i * uy)));
        s += (weights[i] ?? 0) * (img.px[sy * img.w + sx] ?? 0);
      }
      out[y * img.w + x] = clamp01(s / total);
    }
  }
  return { h: img.h, w: img.w, px: out };
};

/** skimage AffineTransform(shear=±0.4) as the inverse map, centre fixed. */
const shear: Corruption = (img, rng) => {
  const s = 0.4 * rng.sign();
  return warpAffine(img, [1, -Math.sin(s), 0, Math.cos(s)], [0, 0], [CENTRE, CENTRE]);
};

/** Inverse map scale 1/0.7: the digit shrinks to 0.7×, centre fixed. */
const scale: Corruption = (img) => warpAffine(img, [1 / 0.7, 0, 0, 1 / 0.7], [0, 0], [CENTRE, CENTRE]);

/** Rotation by ±0.4 rad about the centre. */
const rotate: Corruption = (img, rng) => {
  const r = 0.4 * rng.sign();
  return warpAffine(img, [Math.cos(r), -Math.sin(r), Math.sin(r), Math.cos(r)], [0, 0], [CENTRE, CENTRE]);
};

/** HSV value + 0.5; for a grey pixel V is the pixel itself, so this is clip(x + 0.5). */
const brightness: Corruption = (img) => map(img, (v) => clamp01(v + 0.5));

/** Shift by 3 px on each axis, each with a random sign. */
const translate: Corruption = (img, rng) => {
  const dx = 3 * rng.sign();
  const dy = 3 * rng.sign();
  return warpAffine(img, [1, 0, 0, 1], [dx, dy], [CENTRE, CENTRE]);
};

/** Invert columns 0–6 and 21–27. */
const stripe: Corruption = (img) => map(img, (v, i) => (i % SIDE < 7 || i % SIDE >= 21 ? 1 - v : v));

/** x + 3·plasma (wibble decay 1.4, 256² map cropped to 28²), rescaled by max/(max + 3). */
const fog: Corruption = (img, rng) => {
  const plasma = plasmaFractal(256, 1.4, rng);
  let max = 0;
  for (const v of img.px) if (v > max) max = v;
  return map(img, (v, i) => {
    const y = Math.floor(i / SIDE);
    const x = i % SIDE;
    return clamp01((v + 3 * (plasma[y * 256 + x] ?? 0)) * (max / (max + 3)));
  });
};

/** Diamond-square height map in [0,1] on a torus, as in ImageNet-C / MNIST-C. */
export function plasmaFractal(size: number, wibbleDecay: number, rng: Rng): Float64Array {
  const m = new Float64Array(size * size);
  const at = (r: number, c: number): number => m[((r + size) % size) * size + ((c + size) % size)] ?? 0;
  let step = size;
  let wibble = 100;
  const wibbled = (sum: number): number => sum / 4 + wibble * rng.uniform(-wibble, wibble);
  while (step >= 2) {
    const half = step / 2;
    // Squares: centre of each cell = mean of its 4 corners + noise.
    for (let r = 0; r < size; r += step) {
      for (let c = 0; c < size; c += step) {
        m[(r + half) * size + (c + half)] = wibbled(
          at(r, c) + at(r + step, c) + at(r, c + step) + at(r + step, c + step),
        );
      }
    }
    // Diamonds: edge midpoints = mean of the 2 corners and the 2 neighbouring centres + noise.
    for (let r = 0; r < size; r += step) {
      for (let c = 0; c < size; c += step) {
        m[r * size + (c + half)] = wibbled(
          at(r, c) + at(r, c + step) + at(r + half, c + half) + at(r - half, c + half),
        );
        m[(r + half) * size + c] = wibbled(
          at(r, c) + at(r + step, c) + at(r + half, c + half) + at(r + half, c - half),
        );
      }
    }
    step = half;
    wibble /= wibbleDecay;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of m) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  for (let i = 0; i < m.length; i++) m[i] = ((m[i] ?? 0) - lo) / (hi - lo || 1);
  return m;
}

/** Mud spatter: N(0.65, 0.3) layer, blur σ 1, keep > 0.65, mask blurred σ 1.5 and kept ≥ 0.8, colour 63/255. */
const spatter: Corruption = (img, rng) => {
  const liquid = gaussianBlur({ h: img.h, w: img.w, px: Float32Array.from(img.px, () => rng.normal(0.65, 0.3)) }, 1);
  const mask = gaussianBlur({ h: img.h, w: img.w, px: liquid.px.map((v) => (v > 0.65 ? 1 : 0)) }, 1.5);
  return map(img, (v, i) => {
    const m = (mask.px[i] ?? 0) < 0.8 ? 0 : (mask.px[i] ?? 0);
    return clamp01(v * (1 - m) + (63 / 255) * m);
  });
};

/**
 * MNIST-C's soft line: intensity log(1 − d/2.3) + 1 where d is the vertical distance to the line
 * through (c0, r0)–(c1, r1), zero outside columns [floor c0, ceil c1).
 */
function softLine(c0: number, r0: number, c1: number, r1: number): Float32Array {
  const out = new Float32Array(SIDE * SIDE);
  if (c1 === c0) return out;
  const slope = (r1 - r0) / (c1 - c0);
  const left = Math.floor(c0);
  const right = Math.ceil(c1);
  for (let r = 0; r < SIDE; r++) {
    for (let c = left < 0 ? 0 : left; c < Math.min(SIDE, right); c++) {
      const d = Math.min(Math.abs(r - (slope * (c - c0) + r0)), 2.3 - 1e-10);
      out[r * SIDE + c] = clamp01(Math.log(1 - d / 2.3) + 1);
    }
  }
  return out;
}

/** A line from (row r0, col 0) to (row r1, col 27) with alternate 2-column blocks blanked. */
const dottedLine: Corruption = (img, rng) => {
  const r0 = rng.int(0, 26);
  const r1 = rng.int(0, 26);
  const line = softLine(0, r0, 27, r1);
  return map(img, (v, i) => clamp01(v + (Math.floor((i % SIDE) / 2) % 2 === 0 ? 0 : (line[i] ?? 0))));
};

/** A zigzag (segments 2 px long, ±2 px wide) from column 2 to 25 around a random slope. */
const zigzag: Corruption = (img, rng) => {
  const a = 2;
  const b = 2;
  const c0 = 2;
  const c1 = 25;
  const r0 = rng.int(0, 26);
  const r1 = r0 + rng.int(-5, 4);
  const theta = Math.atan((r1 - r0) / (c1 - c0));
  const d = (c1 - c0) / Math.cos(theta);
  const points: [number, number][] = [[0, 0]];
  let ri = 0;
  for (let i = 0; i < Math.floor((d - a) / (2 * a)) + 1; i++) {
    ri = (-1) ** i * b;
    points.push([(2 * i + 1) * a, ri]);
  }
  const maxC = 2 * a * Math.floor(d / (2 * a));
  // The reference ends with a short segment whose height is ri / (2·(d − maxC)); bounded here so a
  // tiny remainder cannot throw the end point off the image.
  if (d !== maxC) points.push([d, Math.max(-b, Math.min(b, ri / (2 * (d - maxC))))]);
  const rotated = points.map(
    ([c, r]) =>
      [c0 + Math.cos(theta) * c - Math.sin(theta) * r, r0 + Math.sin(theta) * c + Math.cos(theta) * r] as const,
  );
  const px = Float32Array.from(img.px);
  for (let i = 1; i < rotated.length; i++) {
    const [pc, pr] = rotated[i - 1] ?? [0, 0];
    const [qc, qr] = rotated[i] ?? [0, 0];
    const seg = softLine(pc, pr, qc, qr);
    for (let j = 0; j < px.length; j++) px[j] = clamp01((px[j] ?? 0) + (seg[j] ?? 0));
  }
  return { h: img.h, w: img.w, px };
};

/** skimage.feature.canny(x) with its defaults: σ 1, thresholds 0.1 / 0.2, binary edge map. */
const cannyEdges: Corruption = (img) => ({ h: img.h, w: img.w, px: canny(img, 1, 0.1, 0.2) });

export function canny(img: Gray, sigma: number, low: number, high: number): Float32Array {
  const { h, w } = img;
  const s = gaussianBlur(img, sigma).px;
  const at = (y: number, x: number): number =>
    s[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))] ?? 0;
  const gx = new Float32Array(h * w);
  const gy = new Float32Array(h * w);
  const mag = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const jx =
        at(y - 1, x + 1) + 2 * at(y, x + 1) + at(y + 1, x + 1) - at(y - 1, x - 1) - 2 * at(y, x - 1) - at(y + 1, x - 1);
      const iy =
        at(y + 1, x - 1) + 2 * at(y + 1, x) + at(y + 1, x + 1) - at(y - 1, x - 1) - 2 * at(y - 1, x) - at(y - 1, x + 1);
      gx[y * w + x] = jx;
      gy[y * w + x] = iy;
      mag[y * w + x] = Math.hypot(jx, iy);
    }
  }
  // Non-maximum suppression along the gradient direction (4 sectors), border pixels excluded.
  const strong = new Uint8Array(h * w);
  const weak = new Uint8Array(h * w);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const m = mag[i] ?? 0;
      if (m < low) continue;
      const angle = ((Math.atan2(gy[i] ?? 0, gx[i] ?? 0) * 180) / Math.PI + 180) % 180;
      let dy = 0;
      let dx = 1;
      if (angle >= 22.5 && angle < 67.5) [dy, dx] = [1, 1];
      else if (angle >= 67.5 && angle < 112.5) [dy, dx] = [1, 0];
      else if (angle >= 112.5 && angle < 157.5) [dy, dx] = [1, -1];
      if (m >= (mag[(y + dy) * w + x + dx] ?? 0) && m >= (mag[(y - dy) * w + x - dx] ?? 0)) {
        weak[i] = 1;
        if (m >= high) strong[i] = 1;
      }
    }
  }
  // Hysteresis: keep weak pixels 8-connected to a strong one.
  const out = new Float32Array(h * w);
  const stack: number[] = [];
  for (let i = 0; i < h * w; i++) if (strong[i]) stack.push(i);
  while (stack.length > 0) {
    const i = stack.pop() as number;
    if (out[i]) continue;
    out[i] = 1;
    const y = Math.floor(i / w);
    const x = i % w;
    for (let yy = y - 1; yy <= y + 1; yy++) {
      for (let xx = x - 1; xx <= x + 1; xx++) {
        const j = yy * w + xx;
        if (yy >= 0 && xx >= 0 && yy < h && xx < w && weak[j] && !out[j]) stack.push(j);
      }
    }
  }
  return out;
}

const IMPLEMENTATIONS: Record<CorruptionName, Corruption> = {
  shot_noise: shotNoise,
  impulse_noise: impulseNoise,
  glass_blur: glassBlur,
  motion_blur: motionBlur,
  shear,
  scale,
  rotate,
  brightness,
  translate,
  stripe,
  fog,
  spatter,
  dotted_line: dottedLine,
  zigzag,
  canny_edges: cannyEdges,
};

export function isCorruptionName(name: string): name is CorruptionName {
  return (CORRUPTIONS as readonly string[]).includes(name);
}

/** Corrupts one 28×28 image (784 floats in [0,1]); the same (image, name, seed) gives the same output. */
export function corruptImage(pixels: Float32Array, name: CorruptionName, seed: number): Float32Array {
  if (!isCorruptionName(name))
    throw new InvalidInputError(
      `unknown corruption ${JSON.stringify(name)}: expected one of ${CORRUPTIONS.join(', ')}`,
    );
  if (!(pixels instanceof Float32Array) || pixels.length !== SIDE * SIDE) {
    throw new InvalidInputError(
      `corruption ${name} needs a 28×28 image as a Float32Array of 784 values, got ${(pixels as object)?.constructor?.name} of length ${(pixels as { length?: number })?.length}`,
    );
  }
  const impl = IMPLEMENTATIONS[name];
  return impl({ h: SIDE, w: SIDE, px: pixels }, new Rng(seed)).px;
}
