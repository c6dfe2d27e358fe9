/**
 * `scanflow agent …`: start, call, query, update and stop agents from a shell. Output is JSON
 * (one document per command) so it pipes into jq. The same operations exist in the typed client
 * (src/client/agents.ts) and, message by message, in the `temporal` CLI.
 */
import type { Client, Connection } from '@temporalio/client';
import { readFile } from 'node:fs/promises';
import { AgentClient, AgentUpdateRejected } from '../client/agents.js';
import type { Json, Strategy } from '../agents/spec.js';
import { DEFAULT_AGENT_TASK_QUEUE } from '../agents/conventions.js';
import { SpecError } from '../agents/validate.js';
import { temporalSettingsFrom, type TemporalSettings } from '../temporal/connection-options.js';
import { connectClient } from '../temporal/connect.js';

export const agentUsage = `usage: scanflow agent <command> …

  start <spec.json> [--task-queue Q]        validate and start an agent (id scanflow.<app>.<agent>)
  list <app> [--all]                        agents of an app (--all: also stopped ones)
  state <app> <agent>                       status, beliefs, parameters, schedules
  strategies <app> <agent>                  the current strategies (JSON)
  decisions <app> <agent> [--last N]        the decision log
  call <app> <agent> <name> [--args JSON] [--id CALL_ID] [--wait]
                                            Call-Receive: a signal, or with --wait an update returning the outcome
  set <app> <agent> key=value …             change parameters (values are JSON when they parse, else strings)
  add-strategy|replace-strategy <app> <agent> <strategy.json>
  remove-strategy <app> <agent> <name>
  pause|resume|stop <app> <agent>           stop also deletes the agent's trigger schedules

environment: TEMPORAL_ADDRESS (127.0.0.1:7233), TEMPORAL_NAMESPACE (default), SCANFLOW_AGENT_TASK_QUEUE (${DEFAULT_AGENT_TASK_QUEUE})`;

export interface AgentCommandDeps {
  config?: { temporal: TemporalSettings };
  /** An existing client (tests, embedding); otherwise one is connected from config. */
  client?: Client;
  taskQueue?: string;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

class UsageError extends Error {}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
  args.splice(i, 2);
  return value;
}

function boolFlag(args: string[], name: string): boolean {
  const i = args.indexOf(name);
  if (i < 0) return false;
  args.splice(i, 1);
  return true;
}

function positional(args: string[], count: number, names: string): string[] {
  if (args.length < count) throw new UsageError(`expected ${names}`);
  return args;
}

function parseValue(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

async function readJson(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

export async function runAgentCommand(argv: string[], deps: AgentCommandDeps = {}): Promise<number> {
  const out = deps.out ?? ((t: string) => console.log(t));
  const err = deps.err ?? ((t: string) => console.error(t));
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help') {
    out(agentUsage);
    return command === undefined ? 2 : 0;
  }
  let connection: Connection | undefined;
  try {
    const args = [...rest];
    const taskQueue =
      flag(args, '--task-queue') ?? deps.taskQueue ?? process.env.SCANFLOW_AGENT_TASK_QUEUE ?? DEFAULT_AGENT_TASK_QUEUE;
    let client = deps.client;
    if (!client) {
      const temporal = deps.config?.temporal ?? temporalSettingsFrom(process.env, 8233);
      ({ client, connection } = await connectClient(temporal));
    }
    const agents = new AgentClient(client, { taskQueue });
    const print = (value: unknown) => out(JSON.stringify(value, null, 2));
    const handle = () => {
      const [app, agent] = positional(args, 2, '<app> <agent>');
      return agents.get(app as string, agent as string);
    };
    switch (command) {
      case 'start': {
        const [file] = positional(args, 1, '<spec.json>');
        const h = await agents.start(await readJson(file as string));
        print({ started: h.workflowId, taskQueue });
        return 0;
      }
      case 'list': {
        const all = boolFlag(args, '--all');
        const [app] = positional(args, 1, '<app>');
        print(await agents.list(app as string, { runningOnly: !all }));
        return 0;
      }
      case 'state':
        print(await handle().state());
        return 0;
      case 'strategies':
        print(await handle().strategies());
        return 0;
      case 'decisions': {
        const last = flag(args, '--last');
        print(await handle().decisions(last === undefined ? undefined : Number(last)));
        return 0;
      }
      case 'call': {
        const argsJson = flag(args, '--args');
        const callId = flag(args, '--id');
        const wait = boolFlag(args, '--wait');
        const h = handle();
        const [, , name] = positional(args, 3, '<app> <agent> <name>');
        const call = {
          name: name as string,
          caller: 'scanflow-cli',
          ...(argsJson ? { args: parseValue(argsJson) } : {}),
          ...(callId ? { callId } : {}),
        };
        if (wait) print(await h.call(call));
        else {
          await h.signalCall(call);
          print({ signalled: h.workflowId, call });
        }
        return 0;
      }
      case 'set': {
        const h = handle();
        const pairs = args.slice(2);
        if (pairs.length === 0) throw new UsageError('expected key=value …');
        const parameters: Record<string, Json> = {};
        for (const pair of pairs) {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new UsageError(`expected key=value, got '${pair}'`);
          parameters[pair.slice(0, eq)] = parseValue(pair.slice(eq + 1));
        }
        print(await h.setParameters(parameters));
        return 0;
      }
      case 'add-strategy':
      case 'replace-strategy': {
        const h = handle();
        const [, , file] = positional(args, 3, '<app> <agent> <strategy.json>');
        const strategy = (await readJson(file as string)) as Strategy;
        print(command === 'add-strategy' ? await h.addStrategy(strategy) : await h.replaceStrategy(strategy));
        return 0;
      }
      case 'remove-strategy': {
        const h = handle();
        const [, , name] = positional(args, 3, '<app> <agent> <name>');
        print(await h.removeStrategy(name as string));
        return 0;
      }
      case 'pause':
        print({ status: await handle().pause() });
        return 0;
      case 'resume':
        print({ status: await handle().resume() });
        return 0;
      case 'stop':
        print({ stopped: true, removedSchedules: await handle().stop('stopped from the scanflow CLI') });
        return 0;
      default:
        throw new UsageError(`unknown agent command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(`scanflow agent: ${e.message}\n\n${agentUsage}`);
      return 2;
    }
    if (e instanceof SpecError) {
      err(e.issues.map((i) => `invalid agent spec: ${i}`).join('\n'));
      return 2;
    }
    if (e instanceof AgentUpdateRejected) {
      err(`rejected: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    await connection?.close();
  }
}
