/**
 * Vega-Lite spec builders for the reports' charts, so every figure (the MNIST demo's Figs. 6–7,
 * the MLPerf experiments' Figs. 8–11) shares one look: title at the top left, axis titles with
 * their unit, one legend under the plot, the same colours in the same order. Render the result
 * with `renderVegaLite(spec, base)` from `./vega.js`.
 *
 *   timeSeriesChart({
 *     title: 'Replicas and load',
 *     x: { title: 'time', unit: 's' },
 *     panels: [
 *       { y: { title: 'offered load', unit: 'queries/s' }, series: [{ name: 'offered', points }] },
 *       { y: { title: 'replicas', integer: true }, series: [{ name: 'replicas', points: replicas }] },
 *     ],
 *     events: [{ x: 120, label: 'threshold 8 → 5' }],
 *   });
 *   groupedBarChart({
 *     title: 'Server p99', x: { title: 'placement' }, y: { title: 'p99 latency', unit: 'ms' },
 *     categories: ['co-located', 'separated'],
 *     groups: [{ name: 'baseline', values: [41, 12] }, { name: 'agent', values: [40, 11] }],
 *   });
 *
 * Bad input (no series, a series without points, NaN or infinite values, duplicate names, a
 * group whose value count differs from the categories) throws a `ChartInputError` naming the chart
 * and what is wrong, instead of rendering an empty or misleading chart.
 */
import type { TopLevelSpec } from 'vega-lite';

/** Tableau 10 (Vega's default categorical scheme), fixed here so series keep their colour. */
export const PALETTE = [
  '#4c78a8',
  '#f58518',
  '#54a24b',
  '#e45756',
  '#72b7b2',
  '#eeca3b',
  '#b279a2',
  '#ff9da6',
  '#9d755d',
  '#bab0ac',
] as const;

export interface AxisInput {
  /** What the axis shows, e.g. 'p99 latency'. */
  title: string;
  /** Appended to the title in parentheses, e.g. 'ms' → 'p99 latency (ms)'. */
  unit?: string;
  /** Fixed [min, max]; by default the data's range (bars and `zero: true` axes start at 0). */
  domain?: [number, number];
  /** Include 0 in the scale (default false for lines, always for bars). */
  zero?: boolean;
  /** d3-format of the tick labels, e.g. '.0%' for fractions shown as percentages. */
  format?: string;
  /** Whole-number ticks only (counts, replicas, intervals). */
  integer?: boolean;
}

export interface LineSeries {
  name: string;
  /** [x, y] pairs; drawn in the given order. */
  points: ReadonlyArray<readonly [number, number]>;
  /** Dashed stroke, e.g. for a baseline. */
  dashed?: boolean;
  /** CSS colour; by default the next unused colour of PALETTE. */
  color?: string;
}

/** A horizontal line across a panel, e.g. a QoS requirement. */
export interface ReferenceLine {
  y: number;
  label: string;
}

export interface Panel {
  y: AxisInput;
  series: LineSeries[];
  references?: ReferenceLine[];
  /** Plot height in pixels (default 260 for the first panel, 150 for the others). */
  height?: number;
}

/** A vertical line at an x value, labelled at the top of the first panel (drawn on every panel). */
export interface EventRule {
  x: number;
  label: string;
  color?: string;
}

export interface TimeSeriesInput {
  title: string;
  subtitle?: string;
  x: AxisInput;
  /** One or more panels stacked vertically, sharing the x axis and one legend. */
  panels: Panel[];
  events?: EventRule[];
  /** Plot width in pixels (default 640). */
  width?: number;
}

export interface BarGroup {
  name: string;
  /** One value per category, in the categories' order. */
  values: number[];
  color?: string;
}

export interface GroupedBarInput {
  title: string;
  subtitle?: string;
  x: AxisInput;
  y: AxisInput;
  categories: string[];
  groups: BarGroup[];
  width?: number;
  height?: number;
}

export class ChartInputError extends Error {
  constructor(chart: string, problem: string) {
    super(`chart "${chart}": ${problem}`);
    this.name = 'ChartInputError';
  }
}

const FONT = 'DejaVu Sans';
const EVENT_COLOR = '#555555';

/** The look shared by every chart. */
const CONFIG = {
  font: FONT,
  background: 'white',
  padding: 8,
  view: { stroke: '#dddddd' },
  title: { anchor: 'start', fontSize: 15, fontWeight: 'bold', subtitleFontSize: 11, subtitleColor: '#555555' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#ececec' },
  legend: { orient: 'bottom', direction: 'horizontal', labelFontSize: 11, titleFontSize: 11, symbolStrokeWidth: 2 },
  line: { strokeWidth: 2 },
} as const;

function axisTitle(axis: AxisInput): string {
  return axis.unit ? `${axis.title} (${axis.unit})` : axis.title;
}

function scaleOf(axis: AxisInput, zeroDefault: boolean): Record<string, unknown> {
  return { zero: axis.zero ?? zeroDefault, ...(axis.domain ? { domain: axis.domain, clamp: true } : {}) };
}

function axisOf(axis: AxisInput): Record<string, unknown> {
  return { ...(axis.format ? { format: axis.format } : {}), ...(axis.integer ? { tickMinStep: 1, format: 'd' } : {}) };
}

function checkFinite(chart: string, what: string, value: number): void {
  if (!Number.isFinite(value))
    throw new ChartInputError(chart, `${what} is ${value} (every value must be a finite number)`);
}

function checkAxis(chart: string, name: string, axis: AxisInput): void {
  if (!axis.title.trim()) throw new ChartInputError(chart, `the ${name} axis has no title`);
  if (axis.domain) {
    const [lo, hi] = axis.domain;
    checkFinite(chart, `${name} domain min`, lo);
    checkFinite(chart, `${name} domain max`, hi);
    if (!(lo < hi)) throw new ChartInputError(chart, `${name} domain [${lo}, ${hi}] is empty (min must be < max)`);
  }
}

/** `kind` is plural-ready: 'series' | 'category' | 'group' ('series' is its own plural). */
function checkNames(chart: string, kind: string, names: string[]): void {
  const plural = kind === 'series' ? kind : kind === 'category' ? 'categories' : `${kind}s`;
  const seen = new Set<string>();
  for (const name of names) {
    if (!name.trim()) throw new ChartInputError(chart, `a ${kind} has an empty name`);
    if (seen.has(name)) throw new ChartInputError(chart, `two ${plural} are named "${name}" (names label the legend)`);
    seen.add(name);
  }
}

/** Colours per name: the given ones, then PALETTE colours not already taken, in order. */
function colours(items: ReadonlyArray<{ name: string; color?: string }>): string[] {
  const free = PALETTE.filter((c) => !items.some((i) => i.color === c));
  let next = 0;
  return items.map((i) => i.color ?? free[next++ % free.length]!);
}

/**
 * Line chart of several series over a shared x axis, in one or more stacked panels (e.g. load on
 * top, replicas below), with optional dashed series, labelled vertical event rules and horizontal
 * reference lines. Each series is one line (one SVG path).
 */
export function timeSeriesChart(input: TimeSeriesInput): TopLevelSpec {
  const chart = input.title;
  if (!chart.trim()) throw new ChartInputError('(untitled)', 'the chart has no title');
  checkAxis(chart, 'x', input.x);
  if (input.panels.length === 0) throw new ChartInputError(chart, 'no panels (give at least one panel with series)');
  const all = input.panels.flatMap((p) => p.series);
  checkNames(
    chart,
    'series',
    all.map((s) => s.name),
  );
  input.panels.forEach((panel, i) => {
    checkAxis(chart, `panel ${i + 1} y`, panel.y);
    if (panel.series.length === 0) throw new ChartInputError(chart, `panel ${i + 1} (${panel.y.title}) has no series`);
    for (const s of panel.series) {
      if (s.points.length === 0) throw new ChartInputError(chart, `series "${s.name}" has no points`);
      s.points.forEach(([x, y], j) => {
        checkFinite(chart, `series "${s.name}" point ${j} x`, x);
        checkFinite(chart, `series "${s.name}" point ${j} y`, y);
      });
    }
    for (const r of panel.references ?? []) checkFinite(chart, `reference line "${r.label}" y`, r.y);
  });
  for (const e of input.events ?? []) checkFinite(chart, `event "${e.label}" x`, e.x);

  const names = all.map((s) => s.name);
  const colour = {
    field: 'series',
    type: 'nominal',
    title: null,
    sort: names,
    scale: { domain: names, range: colours(all) },
    legend: { symbolType: 'stroke', symbolSize: 300 },
  };
  const dash = {
    field: 'series',
    type: 'nominal',
    title: null,
    sort: names,
    scale: { domain: names, range: all.map((s) => (s.dashed ? [6, 4] : [1, 0])) },
  };
  const x = {
    field: 'x',
    type: 'quantitative',
    title: axisTitle(input.x),
    scale: scaleOf(input.x, false),
    axis: axisOf(input.x),
  };
  const events = input.events ?? [];
  const width = input.width ?? 640;

  const panels = input.panels.map((panel, i) => {
    const last = i === input.panels.length - 1;
    const y = {
      field: 'y',
      type: 'quantitative',
      title: axisTitle(panel.y),
      scale: scaleOf(panel.y, false),
      axis: axisOf(panel.y),
    };
    const layers: unknown[] = [
      {
        data: {
          values: panel.series.flatMap((s) =>
            s.points.map(([px, py], order) => ({ series: s.name, x: px, y: py, order })),
          ),
        },
        mark: { type: 'line', clip: true },
        encoding: {
          x: last ? x : { ...x, title: null },
          y,
          color: colour,
          strokeDash: dash,
          order: { field: 'order', type: 'quantitative' },
        },
      },
    ];
    if (panel.references?.length) {
      const data = { values: panel.references.map((r) => ({ y: r.y, label: r.label })) };
      layers.push(
        {
          data,
          mark: { type: 'rule', color: '#888888', strokeDash: [2, 3] },
          encoding: { y: { field: 'y', type: 'quantitative' } },
        },
        {
          data,
          mark: { type: 'text', align: 'right', baseline: 'bottom', dy: -2, fontSize: 10, color: '#666666' },
          encoding: { y: { field: 'y', type: 'quantitative' }, x: { value: width }, text: { field: 'label' } },
        },
      );
    }
    if (events.length) {
      const data = { values: events.map((e) => ({ x: e.x, label: e.label, color: e.color ?? EVENT_COLOR })) };
      layers.push({
        data,
        mark: { type: 'rule', strokeWidth: 1 },
        encoding: { x: { field: 'x', type: 'quantitative' }, color: { field: 'color', type: 'nominal', scale: null } },
      });
      if (i === 0)
        layers.push({
          data,
          mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 2, fontSize: 10 },
          encoding: {
            x: { field: 'x', type: 'quantitative' },
            y: { value: 0 },
            text: { field: 'label' },
            color: { field: 'color', type: 'nominal', scale: null },
          },
        });
    }
    return { width, height: panel.height ?? (i === 0 ? 260 : 150), layer: layers };
  });

  const title = { text: input.title, ...(input.subtitle ? { subtitle: input.subtitle } : {}) };
  const body =
    panels.length === 1
      ? panels[0]!
      : { vconcat: panels, spacing: 12, resolve: { scale: { color: 'shared', strokeDash: 'shared', x: 'shared' } } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    config: CONFIG,
    ...body,
  } as TopLevelSpec;
}

/** Bars of several groups side by side for each category (e.g. baseline vs agent per setting). */
export function groupedBarChart(input: GroupedBarInput): TopLevelSpec {
  const chart = input.title;
  if (!chart.trim()) throw new ChartInputError('(untitled)', 'the chart has no title');
  checkAxis(chart, 'x', input.x);
  checkAxis(chart, 'y', input.y);
  if (input.categories.length === 0) throw new ChartInputError(chart, 'no categories');
  if (input.groups.length === 0) throw new ChartInputError(chart, 'no groups');
  checkNames(chart, 'category', input.categories);
  checkNames(
    chart,
    'group',
    input.groups.map((g) => g.name),
  );
  for (const g of input.groups) {
    if (g.values.length !== input.categories.length)
      throw new ChartInputError(
        chart,
        `group "${g.name}" has ${g.values.length} values for ${input.categories.length} categories`,
      );
    g.values.forEach((v, i) => checkFinite(chart, `group "${g.name}" value for "${input.categories[i]}"`, v));
  }
  const names = input.groups.map((g) => g.name);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: input.title, ...(input.subtitle ? { subtitle: input.subtitle } : {}) },
    config: CONFIG,
    width: input.width ?? 640,
    height: input.height ?? 260,
    data: {
      values: input.groups.flatMap((g) =>
        g.values.map((value, i) => ({ category: input.categories[i], group: g.name, value })),
      ),
    },
    mark: { type: 'bar' },
    encoding: {
      x: {
        field: 'category',
        type: 'nominal',
        sort: input.categories,
        title: axisTitle(input.x),
        axis: { labelAngle: 0 },
        scale: { paddingInner: 0.2 },
      },
      xOffset: { field: 'group', type: 'nominal', sort: names },
      y: {
        field: 'value',
        type: 'quantitative',
        title: axisTitle(input.y),
        scale: scaleOf(input.y, true),
        axis: axisOf(input.y),
      },
      color: {
        field: 'group',
        type: 'nominal',
        title: null,
        sort: names,
        scale: { domain: names, range: colours(input.groups) },
      },
      tooltip: [
        { field: 'category', type: 'nominal' },
        { field: 'group', type: 'nominal' },
        { field: 'value', type: 'quantitative' },
      ],
    },
  } as TopLevelSpec;
}
