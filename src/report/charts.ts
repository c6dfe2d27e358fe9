/** Line and grouped-bar charts for the demo report (Fig. 6 and Fig. 7 analogues). */
import { Canvas, type Rgb } from './canvas.js';

export const palette: Record<string, Rgb> = {
  blue: [31, 119, 180],
  orange: [255, 127, 14],
  green: [44, 160, 44],
  red: [214, 39, 40],
  purple: [148, 103, 189],
  grey: [127, 127, 127],
};

const ink: Rgb = [30, 30, 30];
const gridInk: Rgb = [225, 225, 225];

export interface Series {
  name: string;
  color: Rgb;
  points: Array<[number, number]>;
  dashed?: boolean;
}

export interface Marker {
  x: number;
  y: number;
  label: string;
  color: Rgb;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  markers?: Marker[];
  yRange?: [number, number];
  width?: number;
  height?: number;
}

interface Frame {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

function niceTicks(min: number, max: number, count = 5): number[] {
  const span = max - min || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(10)));
  return ticks;
}

function formatTick(v: number): string {
  return Math.abs(v) >= 1000 ? `${Math.round(v / 100) / 10}K` : String(Number(v.toPrecision(3)));
}

function drawAxes(
  c: Canvas,
  f: Frame,
  spec: { title: string; xLabel: string; yLabel: string },
  yTicks: number[],
  yToPx: (v: number) => number,
): void {
  c.text(f.left, 12, spec.title, ink, 3);
  for (const t of yTicks) {
    const y = yToPx(t);
    c.line(f.left, y, f.right, y, gridInk);
    const label = formatTick(t);
    c.text(f.left - Canvas.textWidth(label) - 6, y - 5, label, ink);
  }
  c.line(f.left, f.top, f.left, f.bottom, ink, 2);
  c.line(f.left, f.bottom, f.right, f.bottom, ink, 2);
  c.text(f.left + (f.right - f.left) / 2 - Canvas.textWidth(spec.xLabel) / 2, f.bottom + 30, spec.xLabel, ink);
  c.text(8, f.top - 18, spec.yLabel, ink);
}

function drawLegend(c: Canvas, f: Frame, items: Array<{ name: string; color: Rgb }>): void {
  let x = f.left;
  const y = f.bottom + 48;
  for (const item of items) {
    c.fillRect(x, y, 14, 10, item.color);
    x += 20 + c.text(x + 20, y, item.name, ink) + 16;
  }
}

export function lineChart(spec: LineChartSpec): Buffer {
  const width = spec.width ?? 960;
  const height = spec.height ?? 480;
  const c = new Canvas(width, height);
  const f: Frame = { left: 80, top: 60, right: width - 30, bottom: height - 80 };
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1]));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const [yMin, yMax] = spec.yRange ?? [Math.min(...ys), Math.max(...ys)];
  const xToPx = (x: number) => f.left + ((x - xMin) / (xMax - xMin || 1)) * (f.right - f.left);
  const yToPx = (y: number) => f.bottom - ((y - yMin) / (yMax - yMin || 1)) * (f.bottom - f.top);
  drawAxes(c, f, spec, niceTicks(yMin, yMax), yToPx);
  for (const t of niceTicks(xMin, xMax, Math.min(10, Math.max(1, xMax - xMin)))) {
    const label = formatTick(t);
    c.text(xToPx(t) - Canvas.textWidth(label) / 2, f.bottom + 8, label, ink);
  }
  for (const s of spec.series) {
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < pts.length; i++) {
      const a = pts[i - 1]!;
      const b = pts[i]!;
      c.line(xToPx(a[0]), yToPx(a[1]), xToPx(b[0]), yToPx(b[1]), s.color, 3, s.dashed ? 6 : 0);
    }
    for (const [x, y] of pts) c.fillRect(xToPx(x) - 3, yToPx(y) - 3, 7, 7, s.color);
  }
  for (const m of spec.markers ?? []) {
    const x = xToPx(m.x);
    const y = yToPx(m.y);
    c.line(x, y - 10, x, y - 24, m.color, 2);
    c.text(x - Canvas.textWidth(m.label) / 2, y - 38, m.label, m.color);
  }
  drawLegend(c, f, spec.series);
  return c.toPng();
}

export interface BarChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  categories: string[];
  groups: Array<{ name: string; color: Rgb; values: number[] }>;
  width?: number;
  height?: number;
}

/** Grouped bars: one group of bars per category (e.g. per interval: predictions, flagged, picked). */
export function barChart(spec: BarChartSpec): Buffer {
  const width = spec.width ?? 960;
  const height = spec.height ?? 480;
  const c = new Canvas(width, height);
  const f: Frame = { left: 80, top: 60, right: width - 30, bottom: height - 80 };
  const max = Math.max(1, ...spec.groups.flatMap((g) => g.values));
  const ticks = niceTicks(0, max);
  const step = (ticks[1] ?? max) - (ticks[0] ?? 0);
  // Extend the axis to the first tick at or above the tallest bar, so it carries a label.
  while ((ticks[ticks.length - 1] ?? 0) < max)
    ticks.push(Number(((ticks[ticks.length - 1] ?? 0) + step).toPrecision(10)));
  const top = ticks[ticks.length - 1] ?? max;
  const yToPx = (y: number) => f.bottom - (y / top) * (f.bottom - f.top);
  drawAxes(c, f, spec, ticks, yToPx);
  const slot = (f.right - f.left) / Math.max(1, spec.categories.length);
  const barWidth = Math.max(2, (slot * 0.8) / Math.max(1, spec.groups.length));
  spec.categories.forEach((cat, i) => {
    const x0 = f.left + i * slot + slot * 0.1;
    spec.groups.forEach((g, j) => {
      const v = g.values[i] ?? 0;
      c.fillRect(x0 + j * barWidth, yToPx(v), barWidth - 1, f.bottom - yToPx(v), g.color);
    });
    c.text(x0 + slot * 0.4 - Canvas.textWidth(cat) / 2, f.bottom + 8, cat, ink);
  });
  drawLegend(c, f, spec.groups);
  return c.toPng();
}
