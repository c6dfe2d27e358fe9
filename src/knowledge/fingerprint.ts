/**
 * Pixel fingerprints: what binds a sample id to the pixels it names. The prediction log keeps an
 * input quantised to bytes (0..255, row-major), so the fingerprint is taken over exactly those
 * bytes: the oracle's copy of a stream image and the logged copy of the same image, sent as
 * float32 by a client, quantise to the same bytes and give the same fingerprint; other pixels sent
 * under the same id do not (label poisoning through client-supplied `sample_ids`).
 */
import { createHash } from 'node:crypto';

/** [0,1] pixels → bytes, the prediction log's quantisation (values outside [0,1] are clamped). */
export function quantisePixels(pixels: ArrayLike<number>): Buffer {
  const bytes = Buffer.alloc(pixels.length);
  for (let i = 0; i < pixels.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, pixels[i] ?? 0)) * 255);
  return bytes;
}

/** SHA-256 (hex) of the quantised pixels of one image. */
export function pixelFingerprint(pixels: ArrayLike<number>): string {
  return createHash('sha256').update(quantisePixels(pixels)).digest('hex');
}

/** The fingerprint of each image of a row-major pixel array of `count` images of `size` values. */
export function imageFingerprints(pixels: Float32Array, count: number, size: number): string[] {
  if (pixels.length !== count * size)
    throw new Error(`fingerprints: ${pixels.length} pixel values for ${count} images of ${size}`);
  return Array.from({ length: count }, (_, i) => pixelFingerprint(pixels.subarray(i * size, (i + 1) * size)));
}
