/**
 * The report's Vega-Lite spec builders: the specs compile and render (titles and axis titles in
 * the SVG, one line per series, one bar per category and group), the files renderVegaLite writes
 * (the PNG at twice the SVG's size), and bad input refused with a message naming the problem.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { PNG } from 'pngjs';
import {
  ChartInputError,
  groupedBarChart,
  PALETTE,
  timeSeriesChart,
  type GroupedBarInput,
  type TimeSeriesInput,
} from '../../../src/report/specs.js';
import { renderVegaLite, vegaLiteToSvg } from '../../../src/report/vega.js';

const dir = mkdtempSync(join(tmpdir(), 'scanflow-specs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ramp = (n: number, f: (i: number) => number): Array<[number, number]> =>
  Array.from({ length: n }, (_, i) => [i * 10, f(i)]);

const twoPanels = (): TimeSeriesInput => ({
  title: 'Replicas under a rising load',
  subtitle: 'agent against a CPU threshold',
  x: { title: 'time', unit: 's' },
  panels: [
    {
      y: { title: 'queries per replica', unit: 'queries/s' },
      series: [
        { name: 'agent', points: ramp(12, (i) => 10 + i) },
        { name: 'cpu threshold 8', dashed: true, points: ramp(12, (i) => 25 - i) },
      ],
      references: [{ y: 20, label: 'requirement 20/s' }],
    },
    { y: { title: 'replicas', integer: true }, series: [{ name: 'replicas', points: ramp(12, (i) => 1 + (i % 4)) }] },
  ],
  events: [{ x: 40, label: 'load step' }],
});

const bars = (): GroupedBarInput => ({
  title: 'Server p99 by placement',
  x: { title: 'placement' },
  y: { title: 'p99 latency', unit: 'ms' },
  categories: ['co-located', 'separated', 'agent'],
  groups: [
    { name: 'run 1', values: [40, 12, 13] },
    { name: 'run 2', values: [42, 11, 12] },
  ],
});

/** The `aria-label`s of one kind of mark in vega's SVG (one element per path or bar). */
function marks(svg: string, role: string): string[] {
  return [...svg.matchAll(new RegExp(`aria-label="([^"]*)"[^>]*aria-roledescription="${role}"`, 'g'))].map(
    (m) => m[1]!,
  );
}

describe('timeSeriesChart', () => {
  it('renders the title, subtitle, axis titles with units, event and reference labels, and the legend', async () => {
    const svg = await vegaLiteToSvg(timeSeriesChart(twoPanels()));
    for (const text of [
      'Replicas under a rising load',
      'agent against a CPU threshold',
      'time (s)',
      'queries per replica (queries/s)',
      'replicas',
      'load step',
      'requirement 20/s',
      'cpu threshold 8',
    ])
      expect(svg).toContain(`>${text}<`);
  });

  it('draws one path per series, across both panels', async () => {
    const lines = marks(await vegaLiteToSvg(timeSeriesChart(twoPanels())), 'line mark');
    expect(lines).toHaveLength(3);
    expect(lines.map((l) => /series: ([^;]*)/.exec(l)?.[1]).sort()).toEqual(['agent', 'cpu threshold 8', 'replicas']);
  });

  it('dashes only the dashed series and keeps a given colour, filling the others from the palette', () => {
    const input = twoPanels();
    input.panels[0]!.series[0]!.color = PALETTE[1];
    const spec = JSON.stringify(timeSeriesChart(input));
    expect(spec).toContain(`"range":[[1,0],[6,4],[1,0]]`);
    expect(spec).toContain(`"range":["${PALETTE[1]}","${PALETTE[0]}","${PALETTE[2]}"]`);
  });

  it('one panel: the spec is a single layered view with its data inlined', () => {
    const spec = timeSeriesChart({
      title: 'Accuracy',
      x: { title: 'interval' },
      panels: [{ y: { title: 'accuracy', format: '.0%' }, series: [{ name: 'a', points: [[1, 0.9]] }] }],
    }) as unknown as { layer: Array<{ data: { values: unknown[] } }>; vconcat?: unknown };
    expect(spec.vconcat).toBeUndefined();
    expect(spec.layer[0]!.data.values).toEqual([{ series: 'a', x: 1, y: 0.9, order: 0 }]);
  });
});

describe('groupedBarChart', () => {
  it('renders one bar per category and group, with the titles and the legend', async () => {
    const svg = await vegaLiteToSvg(groupedBarChart(bars()));
    for (const text of ['Server p99 by placement', 'placement', 'p99 latency (ms)', 'run 1', 'run 2', 'co-located'])
      expect(svg).toContain(`>${text}<`);
    const drawn = marks(svg, 'bar');
    expect(drawn).toHaveLength(6);
    expect(drawn.some((label) => label.endsWith('group: run 2; category: separated; value: 11'))).toBe(true);
  });
});

describe('renderVegaLite', () => {
  it('writes the spec, the SVG and a PNG at twice the SVG size', async () => {
    const out = await renderVegaLite(groupedBarChart(bars()), join(dir, 'bars'));
    expect(JSON.parse(readFileSync(out.spec, 'utf8'))).toEqual(JSON.parse(JSON.stringify(groupedBarChart(bars()))));
    const svg = readFileSync(out.svg, 'utf8');
    const size = /<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg);
    expect(size).not.toBeNull();
    const png = PNG.sync.read(readFileSync(out.png));
    expect([png.width, png.height]).toEqual([2 * Number(size![1]), 2 * Number(size![2])]);
    // Not a blank picture: some pixels are neither white nor transparent.
    let inked = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i]! < 200) inked++;
    expect(inked).toBeGreaterThan(1000);
  });
});

describe('bad input gets a ChartInputError naming the problem', () => {
  const line = (edit: (input: TimeSeriesInput) => void) => () => {
    const input = twoPanels();
    edit(input);
    return timeSeriesChart(input);
  };
  const bar = (edit: (input: GroupedBarInput) => void) => () => {
    const input = bars();
    edit(input);
    return groupedBarChart(input);
  };
  it.each<[string, () => unknown, RegExp]>([
    ['no panels', line((i) => (i.panels = [])), /no panels/],
    ['a panel without series', line((i) => (i.panels[1]!.series = [])), /panel 2 \(replicas\) has no series/],
    ['a series without points', line((i) => (i.panels[0]!.series[1]!.points = [])), /"cpu threshold 8" has no points/],
    [
      'a NaN value',
      line(
        (i) =>
          (i.panels[0]!.series[0]!.points = [
            [0, 1],
            [10, NaN],
          ]),
      ),
      /"agent" point 1 y is NaN/,
    ],
    ['an infinite x', line((i) => (i.panels[1]!.series[0]!.points = [[Infinity, 1]])), /point 0 x is Infinity/],
    ['duplicate series names', line((i) => (i.panels[1]!.series[0]!.name = 'agent')), /two series are named "agent"/],
    ['a NaN event', line((i) => (i.events = [{ x: NaN, label: 'scale' }])), /event "scale" x is NaN/],
    ['an empty domain', line((i) => (i.x.domain = [5, 5])), /x domain \[5, 5\] is empty/],
    ['no title', line((i) => (i.title = ' ')), /has no title/],
    ['no categories', bar((i) => (i.categories = [])), /no categories/],
    ['no groups', bar((i) => (i.groups = [])), /no groups/],
    ['too few values', bar((i) => (i.groups[1]!.values = [1, 2])), /"run 2" has 2 values for 3 categories/],
    ['a NaN bar', bar((i) => (i.groups[0]!.values[2] = NaN)), /"run 1" value for "agent" is NaN/],
  ])('%s', (_, build, message) => {
    expect(build).toThrow(ChartInputError);
    expect(build).toThrow(message);
  });

  it('names the chart', () => {
    expect(
      line((i) => {
        i.panels[0]!.series[0]!.points = [];
      }),
    ).toThrow(/^chart "Replicas under a rising load": /);
  });
});
