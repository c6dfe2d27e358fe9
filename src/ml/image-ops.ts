/**
 * The few image operations the MNIST-C corruptions need, on one grey image (row-major Float32Array,
 * values in [0,1]), written to match the scikit-image calls the reference implementation makes.
 */
export interface Gray {
  h: number;
  w: number;
  px: Float32Array;
}

export const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

function gaussianKernel(sigma: number): Float32Array {
  // scikit-image (scipy.ndimage) truncates the kernel at 4σ.
  const radius = Math.max(1, Math.round(4 * sigma));
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] = (k[i] ?? 0) / sum;
  return k;
}

/** Separable Gaussian blur; borders extend the edge pixel (skimage.filters.gaussian's 'nearest'). */
export function gaussianBlur(img: Gray, sigma: number): Gray {
  const { h, w, px } = img;
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) / 2;
  const tmp = new Float32Array(h * w);
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) {
        const xx = x + i < 0 ? 0 : x + i >= w ? w - 1 : x + i;
        s += (k[i + r] ?? 0) * (px[y * w + xx] ?? 0);
      }
      tmp[y * w + x] = s;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) {
        const yy = y + i < 0 ? 0 : y + i >= h ? h - 1 : y + i;
        s += (k[i + r] ?? 0) * (tmp[yy * w + x] ?? 0);
      }
      out[y * w + x] = s;
    }
  }
  return { h, w, px: out };
}

/** Bilinear sample with zeros outside (skimage.transform.warp, order 1, mode 'constant'). */
export function sampleBilinear(img: Gray, x: number, y: number): number {
  const { h, w, px } = img;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (xx: number, yy: number): number => (xx < 0 || yy < 0 || xx >= w || yy >= h ? 0 : (px[yy * w + xx] ?? 0));
  return (
    at(x0, y0) * (1 - fx) * (1 - fy) +
    at(x0 + 1, y0) * fx * (1 - fy) +
    at(x0, y0 + 1) * (1 - fx) * fy +
    at(x0 + 1, y0 + 1) * fx * fy
  );
}

/**
 * Warps with an inverse map: output pixel (x, y) takes the input at
 * centre + M·((x, y) − centre) + t, as skimage.transform.warp(image, inverse_map) does.
 */
export function warpAffine(
  img: Gray,
  m: [number, number, number, number],
  t: [number, number] = [0, 0],
  centre = [13.5, 13.5],
): Gray {
  const { h, w } = img;
  const out = new Float32Array(h * w);
  const [cx = 0, cy = 0] = centre;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const sx = cx + m[0] * dx + m[1] * dy + t[0];
      const sy = cy + m[2] * dx + m[3] * dy + t[1];
      out[y * w + x] = clamp01(sampleBilinear(img, sx, sy));
    }
  }
  return { h, w, px: out };
}

/** Pixels of the segment (r0,c0)–(r1,c1), like skimage.draw.line (Bresenham). */
export function linePixels(r0: number, c0: number, r1: number, c1: number): [number, number][] {
  const points: [number, number][] = [];
  let r = r0;
  let c = c0;
  const dr = Math.abs(r1 - r0);
  const dc = Math.abs(c1 - c0);
  const sr = r0 < r1 ? 1 : -1;
  const sc = c0 < c1 ? 1 : -1;
  let err = dc - dr;
  for (;;) {
    points.push([r, c]);
    if (r === r1 && c === c1) break;
    const e2 = 2 * err;
    if (e2 > -dr) {
      err -= dr;
      c += sc;
    }
    if (e2 < dc) {
      err += dc;
      r += sr;
    }
  }
  return points;
}
