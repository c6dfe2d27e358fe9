/**
 * A tiny raster canvas for report charts: lines, rectangles and 3×5-font text, written as PNG.
 * No native graphics stack is needed, so the demo's report renders on any machine.
 */
import { PNG } from 'pngjs';
import { FONT_3X5 } from './font-3x5.js';

export type Rgb = readonly [number, number, number];

export class Canvas {
  private readonly data: Buffer;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.data = Buffer.alloc(width * height * 4);
    this.fillRect(0, 0, width, height, background);
  }

  setPixel(x: number, y: number, [r, g, b]: Rgb): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    const i = (yi * this.width + xi) * 4;
    this.data[i] = r;
    this.data[i + 1] = g;
    this.data[i + 2] = b;
    this.data[i + 3] = 255;
  }

  fillRect(x: number, y: number, w: number, h: number, color: Rgb): void {
    for (let yy = Math.max(0, Math.floor(y)); yy < Math.min(this.height, Math.ceil(y + h)); yy++) {
      for (let xx = Math.max(0, Math.floor(x)); xx < Math.min(this.width, Math.ceil(x + w)); xx++)
        this.setPixel(xx, yy, color);
    }
  }

  /** A line `thickness` pixels wide (square brush), optionally dashed. */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness = 1, dash = 0): void {
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    const half = (thickness - 1) / 2;
    for (let s = 0; s <= steps; s++) {
      if (dash > 0 && Math.floor(s / dash) % 2 === 1) continue;
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      this.fillRect(x - half, y - half, thickness, thickness, color);
    }
  }

  /** Text in the 3×5 font, upper-cased; `scale` pixels per font pixel. Returns the width drawn. */
  text(x: number, y: number, text: string, color: Rgb, scale = 2): number {
    let cx = x;
    for (const ch of text.toUpperCase()) {
      const glyph = FONT_3X5[ch] ?? FONT_3X5['?'] ?? [];
      glyph.forEach((row, gy) => {
        for (let gx = 0; gx < 3; gx++) {
          if (row & (4 >> gx)) this.fillRect(cx + gx * scale, y + gy * scale, scale, scale, color);
        }
      });
      cx += 4 * scale;
    }
    return cx - x;
  }

  static textWidth(text: string, scale = 2): number {
    return text.length * 4 * scale;
  }

  toPng(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    this.data.copy(png.data);
    return PNG.sync.write(png);
  }
}
