/**
 * Writes a grid of grey images to a PNG (pngjs), scaled up with nearest-neighbour so a 28×28
 * digit is legible, with an optional caption strip under each tile in a tiny built-in font.
 */
import { PNG } from 'pngjs';
import { FONT_3X5 } from './font-3x5.js';

export interface GridTile {
  pixels: Float32Array;
  caption?: string;
}

export function renderGrid(
  tiles: readonly GridTile[],
  options: { columns: number; size?: number; scale?: number },
): Buffer {
  const size = options.size ?? 28;
  const scale = options.scale ?? 4;
  const columns = options.columns;
  const rows = Math.ceil(tiles.length / columns);
  const pad = 6;
  const captionHeight = 5 * 2 + 6;
  const tileW = size * scale;
  const cellW = tileW + pad;
  const cellH = tileW + captionHeight + pad;
  const png = new PNG({ width: columns * cellW + pad, height: rows * cellH + pad });
  png.data.fill(190); // mid-grey canvas so white tiles (stripe, brightness) keep visible edges
  const put = (x: number, y: number, grey: number): void => {
    const o = (y * png.width + x) * 4;
    png.data[o] = grey;
    png.data[o + 1] = grey;
    png.data[o + 2] = grey;
    png.data[o + 3] = 255;
  };
  tiles.forEach((tile, t) => {
    const ox = pad + (t % columns) * cellW;
    const oy = pad + Math.floor(t / columns) * cellH;
    for (let y = 0; y < size * scale; y++) {
      for (let x = 0; x < size * scale; x++) {
        const v = tile.pixels[Math.floor(y / scale) * size + Math.floor(x / scale)] ?? 0;
        put(ox + x, oy + y, Math.round(Math.min(1, Math.max(0, v)) * 255));
      }
    }
    if (tile.caption) drawText(tile.caption, ox, oy + tileW + 3, 2, tileW, put);
  });
  return PNG.sync.write(png);
}

function drawText(
  text: string,
  x0: number,
  y0: number,
  scale: number,
  maxWidth: number,
  put: (x: number, y: number, g: number) => void,
): void {
  let x = x0;
  for (const ch of text.toUpperCase()) {
    const glyph = FONT_3X5[ch] ?? FONT_3X5['?'] ?? [];
    if (x + 3 * scale > x0 + maxWidth) break;
    glyph.forEach((row, gy) => {
      for (let gx = 0; gx < 3; gx++) {
        if (row & (4 >> gx)) {
          for (let sy = 0; sy < scale; sy++)
            for (let sx = 0; sx < scale; sx++) put(x + gx * scale + sx, y0 + gy * scale + sy, 0);
        }
      }
    });
    x += 4 * scale;
  }
}
