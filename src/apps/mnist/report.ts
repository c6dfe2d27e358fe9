/**
 * The demo's report: a Markdown summary plus two charts, analogues of the paper's Fig. 6 (per
 * check: predictions → flagged → picked) and Fig. 7 (the road map of versions: accuracy on the
 * drifted stream per interval, static V1 against the loop, with the promotions marked). Each chart
 * is a Vega-Lite spec written beside its SVG and PNG, data inlined, so it can be restyled.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from '../../report/vega.js';
import type { Json } from '../../agents/spec.js';
import type { ModelVersionRecord } from '../../knowledge/types.js';
import type { OracleBudget } from '../../activities/ml/label-oracle.js';
import type { Decision } from '../../agents/messages.js';
import type { MnistBootstrapResult } from './workflows/bootstrap.js';
import { groupedBarChart, PALETTE, timeSeriesChart } from '../../report/specs.js';
import { renderVegaLite } from '../../report/vega.js';
import type { DemoOptions } from './demo-options.js';
import { agentWorkflowId } from '../../agents/conventions.js';
import { HELD_OUT_METRIC, MNIST_APP } from './names.js';

export interface IntervalRow {
  interval: number;
  /** Share of the interval's traffic that was corrupted. */
  share: number;
  sent: number;
  failed: number;
  /** Accuracy of the served answers (whatever version answered). */
  servedAccuracy: number;
  servedVersions: Record<string, number>;
  /** Accuracy V1 would have had on the same images. */
  staticAccuracy: number;
  labelsUsed: number;
  production: number | null;
  latencyP99Ms: number;
}

export interface DemoRun {
  runId: string;
  runDir: string;
  options: DemoOptions;
  bootstrap: MnistBootstrapResult;
  rows: IntervalRow[];
  decisions: Record<string, Decision[]>;
  versions: ModelVersionRecord[];
  budget: OracleBudget;
  uiBase: string;
}

export interface CheckSummary {
  seq: number;
  at: string;
  checked: number;
  flagged: number;
  picked: number;
  labelled: number;
  /** True labels set aside for evaluation, and confident samples pseudo-labelled (mix mode). */
  evaluation: number;
  pseudo: number;
  isDrift: boolean;
  pValue: number;
}

export interface PromotionRecord {
  at: string;
  version: number;
  decision: string;
  basis: string;
  reason: string;
}

/** The planner's promote / reject decisions with the numbers they were taken on. */
export function promotionRecords(decisions: Decision[]): PromotionRecord[] {
  return decisions
    .filter((d) => (d.strategy === 'promote-if-better' || d.strategy === 'reject-if-worse') && d.outcome === 'acted')
    .map((d) => ({
      at: d.at,
      version: num(get(d.observed.verdict, 'version')),
      decision: String(
        get(d.observed.verdict, 'decision') ?? (d.strategy === 'promote-if-better' ? 'promote' : 'reject'),
      ),
      basis: String(get(d.observed.verdict, 'basis') ?? '?'),
      reason: String(get(d.observed.verdict, 'reason') ?? ''),
    }));
}

const pct = (x: number | null | undefined): string =>
  x === null || x === undefined || Number.isNaN(x) ? '–' : `${(100 * x).toFixed(1)}%`;
const get = (value: Json | undefined, path: string): Json | undefined =>
  path
    .split('.')
    .reduce<Json | undefined>(
      (v, k) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, Json>)[k] : undefined),
      value,
    );
const num = (value: Json | undefined): number => (typeof value === 'number' ? value : 0);

/** What each of the checker's detector runs found, from its decision log. */
export function checkSummaries(decisions: Decision[]): CheckSummary[] {
  return decisions
    .filter((d) => d.strategy === 'check-predictions' && d.outcome === 'acted')
    .map((d) => {
      const result = d.actions.find((a) => a.action.startsWith('child detectorWorkflow'))?.result;
      return {
        seq: d.seq,
        at: d.at,
        checked: num(get(result, 'detection.count')),
        flagged: num(get(result, 'detection.flaggedCount')),
        picked: num(get(result, 'picked.count')),
        labelled: num(get(result, 'labelled.count')),
        evaluation: num(get(result, 'evaluation.count')),
        pseudo: num(get(result, 'pseudo.count')),
        isDrift: get(result, 'detection.isDrift') === true,
        pValue: num(get(result, 'detection.pValue')),
      };
    });
}

function versionsTable(run: DemoRun): string[] {
  const lines = ['| version | from | stage | held-out drifted accuracy | trained on |', '|---|---|---|---|---|'];
  for (const v of run.versions) {
    const labelled = v.lineage.datasets.filter((d) => d.startsWith('picked/')).length;
    lines.push(
      `| v${v.version} | ${v.lineage.parentVersion ? `v${v.lineage.parentVersion}` : 'scratch'} | ${v.stage} | ${pct(v.metrics[HELD_OUT_METRIC])} | ${labelled ? `${labelled} labelled sets + replay` : v.lineage.datasets.join(', ')} |`,
    );
  }
  return lines;
}

/** Fig. 6 analogue: per check, the images checked, flagged, and picked for labelling. */
export function checksChart(checks: CheckSummary[]): TopLevelSpec {
  return groupedBarChart({
    title: 'Per check: predictions checked, flagged, picked and labelled',
    x: { title: 'check (checker agent calls)' },
    y: { title: 'images', integer: true },
    categories: checks.map((_, i) => String(i + 1)),
    groups: [
      { name: 'checked', values: checks.map((c) => c.checked) },
      { name: 'flagged', values: checks.map((c) => c.flagged) },
      { name: 'picked + labelled', values: checks.map((c) => c.labelled || c.picked) },
    ],
  });
}

/** Fig. 7 analogue: accuracy per interval, static V1 (dashed) against the loop, promotions as rules. */
export function roadmapChart(rows: IntervalRow[]): TopLevelSpec {
  // A rule where the production version changed during the interval (V1 is the starting point).
  const promotions = rows
    .filter((r, i) => r.production !== null && r.production !== (rows[i - 1]?.production ?? 1))
    .map((r) => ({ x: r.interval, label: `v${r.production}`, color: PALETTE[2] }));
  return timeSeriesChart({
    title: 'Accuracy on the drifting stream: static V1 vs the autonomic loop',
    subtitle: 'vertical lines: a new version in production during that interval',
    x: { title: 'interval', integer: true },
    panels: [
      {
        y: { title: 'accuracy', format: '.0%' },
        series: [
          {
            name: 'static v1',
            color: '#7f7f7f',
            dashed: true,
            points: rows.map((r) => [r.interval, r.staticAccuracy]),
          },
          { name: 'scanflow agents', color: PALETTE[0], points: rows.map((r) => [r.interval, r.servedAccuracy]) },
        ],
      },
    ],
    events: promotions,
  });
}

export const FIG6 = 'fig6-checks';
export const FIG7 = 'fig7-roadmap';

/**
 * Writes fig6-checks and fig7-roadmap (.vl.json, .svg, .png) into `dir`; returns the names
 * written. A run too short for the checker to run (no checks) has no Fig. 6 rather than an empty one.
 */
export async function writeFigures(dir: string, rows: IntervalRow[], checks: CheckSummary[]): Promise<string[]> {
  const written: string[] = [];
  if (checks.length > 0) {
    await renderVegaLite(checksChart(checks), join(dir, FIG6));
    written.push(FIG6);
  }
  if (rows.length > 0) {
    await renderVegaLite(roadmapChart(rows), join(dir, FIG7));
    written.push(FIG7);
  }
  return written;
}

/** The Markdown of one figure: the PNG inline, links to the SVG and the spec. */
function figureMarkdown(name: string, alt: string, written: string[], missing: string): string[] {
  if (!written.includes(name)) return [`_${alt}: ${missing}._`];
  return [`![${alt}](${name}.png)`, '', `[SVG](${name}.svg) · [Vega-Lite spec with its data](${name}.vl.json)`];
}

/** Writes the charts, report.md and run.json into the run directory; returns report.md's path. */
export async function writeReport(run: DemoRun): Promise<string> {
  mkdirSync(run.runDir, { recursive: true });
  const checks = checkSummaries(run.decisions.checker ?? []);
  const promoted = run.versions.filter(
    (v) => v.lineage.parentVersion !== undefined && (v.stage === 'production' || v.promotedAt),
  );
  const rejected = run.versions.filter(
    (v) => v.lineage.parentVersion !== undefined && v.stage === 'archived' && !v.promotedAt,
  );
  const last = run.rows.at(-1);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const driftedRows = run.rows.filter((r) => r.share > 0);

  const figures = await writeFigures(run.runDir, run.rows, checks);

  const md = [
    `# Scanflow MNIST case study: run ${run.runId}`,
    '',
    `${run.rows.length} intervals of ${run.options.intervalSeconds} s, ${run.options.predictionsPerInterval} predictions each; drift schedule ${JSON.stringify(run.options.schedule.map((p) => ({ fromInterval: p.fromBatch + 1, share: p.share, corruptions: p.corruptions.length })))}; seed ${run.options.seed}.`,
    `Label budget: ${run.budget.used} of ${run.budget.budget} true labels used (label mode ${run.options.agents.labelMode ?? 'oracle'}: ${run.options.agents.labelsPerCheck} picked per check for training (${run.options.agents.pickMethod}), ${run.options.agents.evaluationSamplesPerCheck ?? 0} random samples per check set aside for evaluation (never trained on; labelled only where a candidate and production disagree, at most ${run.options.agents.evaluationLabelCap ?? 0} labels)${(run.options.agents.pseudoLabelsPerCheck ?? 0) > 0 ? `, ${run.options.agents.pseudoLabelsPerCheck} confident flagged samples pseudo-labelled per check` : ''}).`,
    `Promotion rule: paired exact McNemar test on the stream's evaluation samples (the fixed held-out set when there are none), promote when p < ${run.options.agents.promotionAlpha ?? 0.05} with at least ${run.options.agents.minEvaluation ?? 100} samples, wait below that, reject otherwise.`,
    `Baseline V${run.bootstrap.classifier.version}: ${pct(run.bootstrap.classifier.accuracy)} on the MNIST test set, ${pct(run.bootstrap.classifier.heldOutAccuracy)} on the held-out drifted set.`,
    '',
    '## Result',
    '',
    `- Accuracy on the drifted stream, mean over intervals with drift: static V1 ${pct(mean(driftedRows.map((r) => r.staticAccuracy)))}, with the agents ${pct(mean(driftedRows.map((r) => r.servedAccuracy)))}; last interval: ${pct(last?.staticAccuracy)} vs ${pct(last?.servedAccuracy)}.`,
    `- Versions promoted: ${promoted.map((v) => `v${v.version}`).join(', ') || 'none'}; rejected (not better beyond noise): ${rejected.map((v) => `v${v.version}`).join(', ') || 'none'}.`,
    `- Fixed held-out drifted set (second figure): V1 ${pct(run.versions.find((v) => v.version === 1)?.metrics[HELD_OUT_METRIC])}, final production v${run.versions.find((v) => v.stage === 'production')?.version ?? '?'} ${pct(run.versions.find((v) => v.stage === 'production')?.metrics[HELD_OUT_METRIC])}.`,
    `- Failed requests during the run (including every model switch): ${run.rows.reduce((n, r) => n + r.failed, 0)}.`,
    '',
    '## Per interval',
    '',
    '| interval | drift share | predictions | served accuracy | versions that answered | static V1 accuracy | labels used | production | p99 latency |',
    '|---|---|---|---|---|---|---|---|---|',
    ...run.rows.map(
      (r) =>
        `| ${r.interval} | ${pct(r.share)} | ${r.sent} | ${pct(r.servedAccuracy)} | ${Object.entries(r.servedVersions)
          .map(([v, n]) => `v${v}×${n}`)
          .join(
            ' ',
          )} | ${pct(r.staticAccuracy)} | ${r.labelsUsed} | v${r.production ?? '?'} | ${r.latencyP99Ms.toFixed(0)} ms |`,
    ),
    '',
    ...figureMarkdown(FIG7, 'Fig. 7 analogue', figures, 'no interval ran'),
    '',
    '## Checks (checker agent)',
    '',
    '| check | checked | flagged | picked | labelled for training | set aside for evaluation | pseudo-labelled | drift (KS p-value) |',
    '|---|---|---|---|---|---|---|---|',
    ...checks.map(
      (c, i) =>
        `| ${i + 1} | ${c.checked} | ${c.flagged} | ${c.picked} | ${c.labelled} | ${c.evaluation} | ${c.pseudo} | ${c.isDrift ? 'yes' : 'no'} (${c.pValue.toExponential(1)}) |`,
    ),
    '',
    '## Promotion decisions (planner)',
    '',
    '| at | candidate | decision | basis | the numbers |',
    '|---|---|---|---|---|',
    ...promotionRecords(run.decisions.planner ?? []).map(
      (p) => `| ${p.at} | v${p.version} | ${p.decision} | ${p.basis} | ${p.reason} |`,
    ),
    '',
    ...figureMarkdown(FIG6, 'Fig. 6 analogue', figures, 'no check ran (the tracker did not reach its threshold)'),
    '',
    '## Model versions (registry)',
    '',
    ...versionsTable(run),
    '',
    '## The agents in the Temporal UI',
    '',
    ...['tracker', 'checker', 'planner', 'executor'].map(
      (name) => `- ${name}: ${run.uiBase}/${encodeURIComponent(agentWorkflowId(MNIST_APP, name))}`,
    ),
    '',
  ].join('\n');
  const path = join(run.runDir, 'report.md');
  writeFileSync(path, md);
  writeFileSync(join(run.runDir, 'run.json'), JSON.stringify({ ...run, decisions: undefined, checks }, null, 2));
  return path;
}
