/**
 * Charts of the reports, declared as Vega-Lite specs and rendered on this machine without a
 * browser: vega-lite compiles the spec to Vega, vega's headless view renders SVG, resvg turns the
 * SVG into PNG. The spec is written beside the pictures with its data inlined, so a user can
 * restyle a chart (or open it in the Vega editor) without re-running the experiment.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec };

export interface RenderedChart {
  /** `<base>.vl.json`: the Vega-Lite spec, data inlined. */
  spec: string;
  /** `<base>.svg` */
  svg: string;
  /** `<base>.png` */
  png: string;
}

export interface RenderOptions {
  /** PNG pixels per SVG pixel (default 2: sharp on high-density screens, still small files). */
  scale?: number;
}

/** The SVG of a Vega-Lite spec (no files). */
export async function vegaLiteToSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG bytes of an SVG, white background, with the machine's fonts (DejaVu on Debian). */
export function svgToPng(svg: string, scale = 2): Buffer {
  const png = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
    .render()
    .asPng();
  return Buffer.from(png);
}

/** Writes `<base>.vl.json`, `<base>.svg` and `<base>.png`; returns their paths. */
export async function renderVegaLite(
  spec: TopLevelSpec,
  base: string,
  options: RenderOptions = {},
): Promise<RenderedChart> {
  mkdirSync(dirname(base), { recursive: true });
  const svg = await vegaLiteToSvg(spec);
  const out: RenderedChart = { spec: `${base}.vl.json`, svg: `${base}.svg`, png: `${base}.png` };
  writeFileSync(out.spec, `${JSON.stringify(spec, null, 2)}\n`);
  writeFileSync(out.svg, svg);
  writeFileSync(out.png, svgToPng(svg, options.scale ?? 2));
  return out;
}
