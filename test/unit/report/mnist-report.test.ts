/**
 * The MNIST demo report's charts (Figs. 6–7 analogues) from the rows and checks a run records,
 * and the report written for a run too short to have any check (no empty Fig. 6).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { parseDemoOptions, type DemoOptions } from '../../../src/apps/mnist/demo-options.js';
import {
  checksChart,
  roadmapChart,
  writeFigures,
  writeReport,
  type CheckSummary,
  type IntervalRow,
} from '../../../src/apps/mnist/report.js';
import { vegaLiteToSvg } from '../../../src/report/vega.js';

const dir = mkdtempSync(join(tmpdir(), 'scanflow-mnist-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const row = (interval: number, production: number, served: number, stat: number): IntervalRow => ({
  interval,
  share: 0.5,
  sent: 100,
  failed: 0,
  servedAccuracy: served,
  servedVersions: { [production]: 10 },
  staticAccuracy: stat,
  labelsUsed: 0,
  production,
  latencyP99Ms: 20,
});
const rows = [row(1, 1, 0.93, 0.93), row(2, 1, 0.9, 0.9), row(3, 2, 0.92, 0.88), row(4, 2, 0.93, 0.86)];
const check = (seq: number, checked: number, flagged: number): CheckSummary => ({
  seq,
  at: '2026-11-30T00:00:00.000Z',
  checked,
  flagged,
  picked: 85,
  labelled: 85,
  evaluation: 0,
  pseudo: 0,
  isDrift: true,
  pValue: 1e-9,
});

describe('MNIST report charts', () => {
  it('Fig. 7: static V1 and the agents as two lines, a rule labelled with the version promoted', async () => {
    const svg = await vegaLiteToSvg(roadmapChart(rows));
    expect(svg.match(/aria-roledescription="line mark"/g)).toHaveLength(2);
    expect(svg).toContain('series: static v1');
    expect(svg).toContain('series: scanflow agents');
    expect(svg).toContain('>v2<');
    expect(svg).not.toContain('>v1<');
    expect(svg).toContain('>interval<');
    expect(svg).toContain('>accuracy<');
  });

  it('Fig. 6: three bars per check', async () => {
    const svg = await vegaLiteToSvg(checksChart([check(1, 1000, 200), check(2, 1100, 300)]));
    expect(svg.match(/aria-roledescription="bar"/g)).toHaveLength(6);
    expect(svg).toContain('group: flagged; category: 2; value: 300');
  });

  it('writes both figures (spec, SVG, PNG) beside each other', async () => {
    const written = await writeFigures(join(dir, 'full'), rows, [check(1, 1000, 200)]);
    expect(written).toEqual(['fig6-checks', 'fig7-roadmap']);
    for (const name of written)
      for (const ext of ['vl.json', 'svg', 'png']) expect(existsSync(join(dir, 'full', `${name}.${ext}`))).toBe(true);
  });

  it('a run without checks: the report says so instead of embedding an empty Fig. 6', async () => {
    const options = parseDemoOptions([]) as DemoOptions;
    const runDir = join(dir, 'short');
    const path = await writeReport({
      runId: 'short',
      runDir,
      options,
      bootstrap: {
        classifier: { version: 1, accuracy: 0.987, heldOutAccuracy: 0.857, trained: true },
        detector: { version: 1, trained: true },
        heldOut: { key: 'held-out', count: 1000 },
      },
      rows: rows.slice(0, 1),
      decisions: {},
      versions: [],
      budget: { budget: 1000, used: 0 },
      uiBase: 'http://localhost:1/namespaces/default/workflows',
    });
    const md = readFileSync(path, 'utf8');
    expect(md).toContain('![Fig. 7 analogue](fig7-roadmap.png)');
    expect(md).toContain('[Vega-Lite spec with its data](fig7-roadmap.vl.json)');
    expect(md).toContain('_Fig. 6 analogue: no check ran');
    expect(existsSync(join(runDir, 'fig6-checks.png'))).toBe(false);
  });
});
