/**
 * Renders docs/mnist-c.png: three MNIST test digits, clean and under each of the 15 corruptions,
 * so anyone can check the corruptions by eye. Run: npx tsx bench/render-mnist-c.ts [out.png]
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CORRUPTIONS, corruptImage } from '../src/ml/corruptions.js';
import { loadMnist } from '../src/ml/mnist.js';
import { imageSeed } from '../src/ml/mnist-c.js';
import { renderGrid, type GridTile } from '../src/report/png-grid.js';

function run(): void {
  const out = process.argv[2] ?? fileURLToPath(new URL('../docs/mnist-c.png', import.meta.url));
  const test = loadMnist('test', 3);
  const tiles: GridTile[] = [];
  for (let d = 0; d < test.count; d++) {
    const clean = test.pixels.slice(d * 784, (d + 1) * 784);
    tiles.push({ pixels: clean, caption: 'clean' });
    for (const name of CORRUPTIONS)
      tiles.push({
        pixels: corruptImage(clean, name, imageSeed(2026, name, d)),
        caption: name.replace('_noise', '').replace('_', ' '),
      });
  }
  writeFileSync(out, renderGrid(tiles, { columns: 16, scale: 4 }));
  console.log(`wrote ${out}: ${test.count} digits × (clean + ${CORRUPTIONS.length} corruptions)`);
}

run();
