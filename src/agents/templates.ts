/**
 * The four agent templates of the paper (tracker, checker, planner, executor). Each is a small
 * function whose sensors and actions are parameters, returning an ordinary AgentSpec; the
 * thresholds live in `parameters` so another agent (or an operator) can tune them at run time.
 */
import type { Action, AgentSpec, Constraint, Json, Sensor, Trigger } from './spec.js';
import { validateAgentSpec } from './validate.js';

interface Common {
  app: string;
  name?: string;
  parameters?: Record<string, Json>;
}

/** tracker: every interval, read a metric; IF it reaches `parameters.threshold` THEN act (typically call the checker). */
export function trackerAgent(
  o: Common & { every: Trigger; sensor: Sensor; threshold: number; then: Action[] },
): AgentSpec {
  return validateAgentSpec({
    app: o.app,
    name: o.name ?? 'tracker',
    template: 'tracker',
    parameters: { threshold: o.threshold, ...o.parameters },
    strategies: [
      {
        name: 'track',
        when: o.every,
        sense: [o.sensor],
        if: { compare: [{ $ref: `beliefs.${o.sensor.as}` }, '>=', { $ref: 'params.threshold' }] },
        then: o.then,
      },
    ],
  });
}

/** checker: when called (`receive`), run the detection action(s) on the call's arguments, then report if the check says so. */
export function checkerAgent(
  o: Common & { receive: string; check: Action[]; reportIf?: Constraint; report?: Action[] },
): AgentSpec {
  const strategies: AgentSpec['strategies'] = [{ name: o.receive, when: { call: o.receive }, then: o.check }];
  if (o.report)
    strategies.push({
      name: `${o.receive}-report`,
      when: { call: `${o.receive}-report` },
      ...(o.reportIf ? { if: o.reportIf } : {}),
      then: o.report,
    });
  return validateAgentSpec({
    app: o.app,
    name: o.name ?? 'checker',
    template: 'checker',
    parameters: o.parameters ?? {},
    strategies,
  });
}

/** planner: every interval, sense; IF the decision rule holds THEN plan (retrain, tune another agent, call the executor). */
export function plannerAgent(
  o: Common & { every: Trigger; sense: Sensor[]; decide: Constraint; plan: Action[] },
): AgentSpec {
  return validateAgentSpec({
    app: o.app,
    name: o.name ?? 'planner',
    template: 'planner',
    parameters: o.parameters ?? {},
    strategies: [{ name: 'plan', when: o.every, sense: o.sense, if: o.decide, then: o.plan }],
  });
}

/** executor: when called (`receive`), apply the change (upgrade a model version, change a config). */
export function executorAgent(o: Common & { receive: string; apply: Action[]; guard?: Constraint }): AgentSpec {
  return validateAgentSpec({
    app: o.app,
    name: o.name ?? 'executor',
    template: 'executor',
    parameters: o.parameters ?? {},
    strategies: [{ name: o.receive, when: { call: o.receive }, ...(o.guard ? { if: o.guard } : {}), then: o.apply }],
  });
}
