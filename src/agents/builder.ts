/**
 * A typed builder for strategies and agents that produces exactly the JSON of the model:
 *
 *   const tracker = agent('mnist', 'tracker', 'tracker')
 *     .param('minPredictions', 1000)
 *     .strategy(when({ every: '10s' })
 *       .sense('countPredictions', 'predictions')
 *       .if(gte(ref('beliefs.predictions'), ref('params.minPredictions')))
 *       .then(callAgent('checker', 'check_predictions', { since: ref('beliefs.lastCheck') }))
 *       .named('count'))
 *     .build();
 */
import type {
  Action,
  ActivityAction,
  ActivityOptions,
  AgentSpec,
  Comparison,
  Constraint,
  Json,
  Operand,
  Ref,
  Sensor,
  Strategy,
  TemplateName,
  When,
} from './spec.js';
import { validateAgentSpec } from './validate.js';

export const ref = (path: string): Ref => ({ $ref: path });

const cmp =
  (op: Comparison) =>
  (left: Operand, right: Operand): Constraint => ({ compare: [left, op, right] });
export const gt = cmp('>');
export const gte = cmp('>=');
export const lt = cmp('<');
export const lte = cmp('<=');
export const eq = cmp('==');
export const ne = cmp('!=');
export const exists = (r: Ref): Constraint => ({ exists: r });
export const and = (...all: Constraint[]): Constraint => ({ and: all });
export const or = (...any: Constraint[]): Constraint => ({ or: any });
export const not = (c: Constraint): Constraint => ({ not: c });

export const every = (duration: string, offset?: string): When =>
  offset ? { every: duration, offset } : { every: duration };
export const at = (date: string | Date): When => ({
  at: typeof date === 'string' ? date : date.toISOString().replace(/\.\d{3}Z$/, 'Z'),
});
export const cron = (expression: string): When => ({ cron: expression });
export const onCall = (name: string): When => ({ call: name });

export function activity(
  name: string,
  args?: Json | Ref,
  options: ActivityOptions & { as?: string; remember?: boolean } = {},
): ActivityAction {
  return { activity: name, ...(args !== undefined ? { args } : {}), ...options };
}
export function callAgent(
  agent: string,
  name: string,
  args?: Json | Ref,
  options: { app?: string; wait?: boolean; as?: string } = {},
): Action {
  const { as, ...rest } = options;
  return { call: { agent, name, ...(args !== undefined ? { args } : {}), ...rest }, ...(as ? { as } : {}) };
}
export function child(
  workflowType: string,
  args?: Json | Ref,
  options: { workflowId?: string; taskQueue?: string; timeout?: string; as?: string } = {},
): Action {
  const { as, ...rest } = options;
  return { child: { workflowType, ...(args !== undefined ? { args } : {}), ...rest }, ...(as ? { as } : {}) };
}
export function tune(parameters: Record<string, Json | Ref>, target: { agent?: string; app?: string } = {}): Action {
  return { tune: { ...target, parameters } };
}

export class StrategyBuilder {
  private readonly sensors: Sensor[] = [];
  private constraint: Constraint | undefined;
  private actions: Action[] = [];
  constructor(private readonly trigger: When) {}
  sense(activityName: string, as: string, args?: Json | Ref, options: ActivityOptions = {}): this {
    this.sensors.push({ activity: activityName, as, ...(args !== undefined ? { args } : {}), ...options });
    return this;
  }
  if(constraint: Constraint): this {
    this.constraint = constraint;
    return this;
  }
  then(...actions: Action[]): this {
    this.actions = [...this.actions, ...actions];
    return this;
  }
  named(name: string): Strategy {
    return {
      name,
      when: this.trigger,
      ...(this.sensors.length > 0 ? { sense: this.sensors } : {}),
      ...(this.constraint ? { if: this.constraint } : {}),
      then: this.actions,
    };
  }
}

export const when = (trigger: When): StrategyBuilder => new StrategyBuilder(trigger);

export class AgentBuilder {
  private readonly strategies: Strategy[] = [];
  private readonly parameters: Record<string, Json> = {};
  constructor(
    private readonly app: string,
    private readonly name: string,
    private readonly template: TemplateName = 'custom',
  ) {}
  param(name: string, value: Json): this {
    this.parameters[name] = value;
    return this;
  }
  params(values: Record<string, Json>): this {
    Object.assign(this.parameters, values);
    return this;
  }
  strategy(strategy: Strategy): this {
    this.strategies.push(strategy);
    return this;
  }
  /** The validated spec (throws SpecError naming the bad field). */
  build(): AgentSpec {
    return validateAgentSpec({
      app: this.app,
      name: this.name,
      template: this.template,
      strategies: this.strategies,
      parameters: this.parameters,
    });
  }
}

export const agent = (app: string, name: string, template: TemplateName = 'custom'): AgentBuilder =>
  new AgentBuilder(app, name, template);
