/**
 * The report of `npm run demo:mlperf`: README-style Markdown with one chart per figure (Vega-Lite
 * spec beside its SVG and PNG under charts/), the tables of each experiment, the load average the
 * figures were taken under, and the Temporal UI links of the agents with what they decided.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Decision } from '../../../agents/messages.js';
import { renderVegaLite } from '../../../report/vega.js';
import type { MlperfDemoOptions } from '../demo-options.js';
import type { AffinityResult } from '../experiments/affinity.js';
import type { AgentRecord } from '../experiments/agent-run.js';
import type { AutoscalingResult } from '../experiments/autoscaling.js';
import type { FailoverResult } from '../experiments/failover.js';
import { affinityChart, autoscalingChart, failoverChart } from './charts.js';

export interface MlperfRun {
  runId: string;
  runDir: string;
  options: MlperfDemoOptions;
  startedAt: string;
  seconds?: number;
  environment: { nodes: string[]; image: string; weights: string; temporalUi: string };
  autoscaling?: AutoscalingResult;
  affinity?: AffinityResult;
  failover?: FailoverResult;
  /** Experiments that failed, with the error. */
  errors?: Record<string, string>;
}

const f = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined ? '–' : v.toFixed(digits);
const pct = (v: number): string => `${(100 * v).toFixed(0)} %`;

function acted(a: AgentRecord): Decision[] {
  return a.decisions.filter((d) => d.outcome === 'acted');
}

function agentLines(a: AgentRecord, summary: (d: Decision) => string): string[] {
  const failed = a.decisions.filter((d) => d.outcome === 'failed').length;
  return [
    `Agent [\`${a.id}\`](${a.link}): ${a.decisions.length} evaluations, ${acted(a).length} acted, ${failed} failed.`,
    '',
    ...acted(a).map((d) => `- ${d.at}: ${summary(d)}`),
  ];
}

/** Per round: the best CPU threshold (most windows met, then fewest replica-seconds) against the tuner. */
export function autoscalingVerdicts(r: AutoscalingResult): Array<{
  round: number;
  best: AutoscalingResult['settings'][number];
  agent: AutoscalingResult['settings'][number];
  moreMet: boolean;
  noMoreReplicaSeconds: boolean;
}> {
  const rounds = [...new Set(r.settings.map((s) => s.round))];
  return rounds.flatMap((round) => {
    const of = r.settings.filter((s) => s.round === round);
    const best = of
      .filter((s) => s.kind === 'threshold')
      .sort((a, b) => b.metShare - a.metShare || a.replicaSeconds - b.replicaSeconds)[0];
    const agent = of.find((s) => s.kind === 'agent');
    if (!best || !agent) return [];
    return [
      {
        round,
        best,
        agent,
        moreMet: of.filter((s) => s.kind === 'threshold').every((s) => agent.metShare > s.metShare),
        noMoreReplicaSeconds: agent.replicaSeconds <= best.replicaSeconds,
      },
    ];
  });
}

const unitOf = (s: AutoscalingResult['settings'][number]): string =>
  s.autoscaler === 'keda-qps' ? 'q/s per replica' : '%';

function autoscalingSection(r: AutoscalingResult, chart: string): string[] {
  const rounds = new Set(r.settings.map((s) => s.round)).size;
  const steps = (s: AutoscalingResult['settings'][number]) =>
    (s.reactions ?? [])
      .map(
        (x) =>
          `→${x.qps}: ${x.firstReplicaSeconds ?? '–'} / ${x.enoughSeconds === null ? `not ${x.replicasNeeded}` : `${x.enoughSeconds} s`}`,
      )
      .join('; ') || (s.reactionSeconds === null ? 'no scale-up' : `${s.reactionSeconds} s`);
  const lines = [
    '## Figs. 8–9: autoscaling to a QoS requirement',
    '',
    `${r.options.users} LoadGen users (Server scenario), offered load ${r.profile.map((p) => `${p.qps}`).join(' → ')} queries/s ` +
      `(${r.profile.map((p) => `${p.seconds} s`).join(', ')}); requirement: answered queries/s per replica < ${r.options.qos}. ` +
      `Baselines: real HPA (kube-controller-manager, pod CPU from metrics-server) at fixed CPU thresholds; ` +
      (r.options.agent === 'keda-qps'
        ? `agent: KEDA on the service's answered queries/s (10 s rate, HPA sync 5 s), its threshold (queries/s per replica) tuned from the load's surge. `
        : `agent: the same HPA, its CPU threshold tuned. `) +
      `CPU request ${r.options.cpuRequest} per replica (limit ${r.options.cpuLimit}), ` +
      `1–${r.options.maxReplicas} replicas, scale-down stabilisation ${r.options.scaleDownStabilizationSeconds} s. ` +
      `The load is scaled to what two one-CPU nodes serve.` +
      (rounds > 1 ? ` Every setting ran ${rounds} times, interleaved; the chart shows round 1.` : ''),
    '',
    `![Figs. 8-9](${chart})`,
    '',
    `| ${rounds > 1 ? 'round | ' : ''}setting | QoS met (share of 10 s windows) | replica-seconds | steps up: first replica / enough replicas Ready (s) | answered | failed | load average before / after |`,
    `|${rounds > 1 ? '---:|' : ''}---|---:|---:|---|---:|---:|---|`,
    ...r.settings.map(
      (s) =>
        `| ${rounds > 1 ? `${s.round} | ` : ''}${s.setting} | ${pct(s.metShare)} | ${s.replicaSeconds} | ${steps(s)} | ${s.answered} | ${s.failed} | ${s.loadAverage.before} / ${s.loadAverage.after} |`,
    ),
    '',
  ];
  for (const v of autoscalingVerdicts(r))
    lines.push(
      `${rounds > 1 ? `Round ${v.round}: the` : 'The'} best CPU threshold (${v.best.setting}) met the requirement in ${pct(v.best.metShare)} of the windows with ${v.best.replicaSeconds} replica-seconds; ` +
        `the tuner in ${pct(v.agent.metShare)} with ${v.agent.replicaSeconds} (thresholds in effect: ${[...new Set(v.agent.thresholdTrace.map((t) => t.threshold))].join(' → ')} ${unitOf(v.agent)}): ` +
        `${v.moreMet ? 'more' : 'not more'} windows met than every threshold, ${v.noMoreReplicaSeconds ? 'no more' : 'more'} replica-seconds than the best.`,
      '',
    );
  lines.push(
    ...agentLines(r.agent, (d) => {
      const t = d.observed.tuner as { from?: number; threshold?: number; reason?: string } | undefined;
      return `threshold ${t?.from} → ${t?.threshold} ${r.options.agent === 'keda-qps' ? 'q/s per replica' : '%'}: ${t?.reason ?? ''}`;
    }),
    '',
  );
  return lines;
}

function affinitySection(r: AffinityResult, chart: string): string[] {
  const row = (name: string, p: AffinityResult['colocated'] | null) =>
    p
      ? `| ${name} | ${f(p.p99Ms)} | ${f(p.serverP99Ms)} | ${f(p.p50Ms)} | ${f(p.completedQps)} | ${p.failed} | ${p.offlineSamplesPerSecond ?? '–'} | online ${p.onlineNodes.join(',')}, batch ${p.batchNodes.join(',')} |`
      : `| ${name} | – | – | – | – | – | – | not reached |`;
  return [
    '## Fig. 10: anti-affinity of a batch job',
    '',
    `${r.options.users} LoadGen Server users at ${r.options.qps} queries/s on the online service (CPU request ${r.options.onlineCpu}) while the batch workflow's ` +
      `Offline LoadGen job (CPU request ${r.options.batchCpu}) runs; ${r.options.phaseSeconds} s measured co-located, then the anti-affinity agent ` +
      `(p99 bound ${r.options.p99Bound * 1000} ms) separates them and ${r.options.phaseSeconds} s are measured separated. ` +
      `Load average ${r.loadAverage.before} before, ${r.loadAverage.after} after.`,
    '',
    `![Fig. 10](${chart})`,
    '',
    '| placement | Server p99 ms (client) | p99 ms (server histogram) | Server p50 ms (client) | Server completed q/s | failed | Offline samples/s | nodes |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    row('co-located', r.colocated),
    row('separated (agent)', r.separated),
    '',
    `The agent acted ${r.actedAfter === null ? 'never' : `${r.actedAfter} s`} after it started; the online pod was Ready on the other node ${r.movedAfter === null ? 'never' : `${r.movedAfter} s`} after. Reason: ${r.reason ?? '–'}`,
    '',
    ...agentLines(r.agent, (d) => {
      const i = d.observed.interference as { reason?: string } | undefined;
      return `separate: ${i?.reason ?? ''}; actions ${d.actions.map((a) => a.action).join(', ')}`;
    }),
    '',
  ];
}

function failoverSection(r: FailoverResult, chart: string): string[] {
  return [
    '## Fig. 11: fail-over to a backup service',
    '',
    `${r.options.users} LoadGen users (Server scenario): ${r.options.normalQps} queries/s for ${r.options.normalSeconds} s, ` +
      `${r.options.overloadQps} until ${r.options.afterRedirectSeconds} s after the redirect (${r.steps[1]?.seconds ?? '–'} s; at most ${r.options.overloadSeconds} s), ${r.options.normalQps} for ${r.options.recoverySeconds} s. ` +
      `Primary ${r.options.primaryCpu} CPU, backup ${r.options.backupCpu} CPU on the other node. The failover agent redirects at 0 ready replicas held ` +
      `${r.options.holdSeconds} s and returns after ${r.options.recoverSeconds} s ready. Load average ${r.loadAverage.before} before, ${r.loadAverage.after} after.`,
    '',
    `![Fig. 11](${chart})`,
    '',
    '| event | t (s) |',
    '|---|---:|',
    `| overload starts | ${r.overloadAt} |`,
    `| primary at 0 ready replicas (readiness failing) | ${f(r.readinessLostAt)} |`,
    `| traffic on the backup | ${f(r.redirectedAt)} |`,
    `| traffic back on the primary | ${f(r.returnedAt)} |`,
    '',
    `Detection to redirect: ${f(r.detectionToRedirect)} s (the hold is ${r.options.holdSeconds} s). Answered: ${Object.entries(
      r.answered,
    )
      .map(([k, v]) => `${v} by ${k}`)
      .join(
        ', ',
      )}. Failed queries: ${r.failed.total} in all; ${r.failed.beforeLoss} before readiness was lost (the overloaded primary shedding and timing out), ` +
      `${r.failed.lossToRedirect} between 0 ready and the redirect (the detection window), ${r.failed.afterRedirect} after the redirect.`,
    '',
    ...agentLines(r.agent, (d) => {
      const x = d.observed.failover as { route?: string; reason?: string } | undefined;
      return `traffic → ${x?.route}: ${x?.reason ?? ''}`;
    }),
    '',
  ];
}

/** Writes report.md and the charts under the run directory; returns the report's path. */
export async function writeMlperfReport(run: MlperfRun): Promise<string> {
  const charts = join(run.runDir, 'charts');
  mkdirSync(charts, { recursive: true });
  const md = join(run.runDir, 'report.md');
  const rel = (p: string) => relative(run.runDir, p);
  const lines = [
    `# Scanflow MLPerf infrastructure experiments (${run.runId})`,
    '',
    `Two real one-CPU nodes (${run.environment.nodes.join(', ')}) running ${run.environment.image}; model weights ${run.environment.weights}. ` +
      `Options: ${JSON.stringify(run.options)}. ${run.seconds !== undefined ? `${run.seconds} s in all.` : ''} ` +
      'The machine is shared (2 cores): every figure gives the load average it was taken under.',
    '',
  ];
  if (run.autoscaling) {
    const c = await renderVegaLite(autoscalingChart(run.autoscaling), join(charts, 'fig8-9-autoscaling'));
    lines.push(...autoscalingSection(run.autoscaling, rel(c.png)));
  }
  if (run.affinity) {
    const c = await renderVegaLite(affinityChart(run.affinity), join(charts, 'fig10-anti-affinity'));
    lines.push(...affinitySection(run.affinity, rel(c.png)));
  }
  if (run.failover) {
    const c = await renderVegaLite(failoverChart(run.failover), join(charts, 'fig11-failover'));
    lines.push(...failoverSection(run.failover, rel(c.png)));
  }
  for (const [name, error] of Object.entries(run.errors ?? {}))
    lines.push(`## ${name}: failed`, '', '```', error.slice(0, 3000), '```', '');
  lines.push(
    '## Agents in the Temporal UI',
    '',
    ...[run.autoscaling?.agent, ...(run.autoscaling?.laterAgents ?? []), run.affinity?.agent, run.failover?.agent]
      .filter((a): a is AgentRecord => !!a && a.id !== '')
      .map((a) => `- [${a.id}](${a.link})`),
    '',
    `The run's Temporal server stopped with the demo; its history is in ${rel(join(run.runDir, 'temporal.db'))} ` +
      `(\`temporal server start-dev --db-filename ${join(run.runDir, 'temporal.db')}\` serves it again).`,
    '',
  );
  writeFileSync(md, lines.join('\n'));
  writeFileSync(join(run.runDir, 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
  return md;
}
