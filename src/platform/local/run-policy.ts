/**
 * What the local platform agrees to run on the worker's host. A ServiceSpec arrives in a
 * workflow's input, so whoever can start a workflow writes it; on this platform a spec's
 * `command` would be a program run on the worker host. So:
 *   - a service runs an IMAGE the worker maps to a local entry point: the wiring's `images`
 *     (the model server) plus SCANFLOW_LOCAL_IMAGES, a JSON object image → argv
 *     (e.g. {"my/ranker": ["/opt/ranker/bin/serve"]}), the tag ignored;
 *   - a spec's own `command` is refused unless the worker opted in (allowCommands, or
 *     SCANFLOW_LOCAL_ALLOW_COMMANDS=1: development only);
 *   - `secretEnv` references (Secret name + key) resolve to values held by the worker (`secrets`),
 *     never by the spec.
 */
import { invalidSpec } from '../errors.js';
import type { ServiceSpec } from '../types.js';

export const LOCAL_IMAGES_ENV = 'SCANFLOW_LOCAL_IMAGES';
export const LOCAL_ALLOW_COMMANDS_ENV = 'SCANFLOW_LOCAL_ALLOW_COMMANDS';

export interface LocalRunPolicy {
  images: Record<string, string[]>;
  allowCommands: boolean;
  secrets: Record<string, Record<string, string>>;
}

/** SCANFLOW_LOCAL_IMAGES parsed; a malformed value is an error at start, naming the variable. */
export function imagesFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string[]> {
  const raw = env[LOCAL_IMAGES_ENV];
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new Error(`${LOCAL_IMAGES_ENV} must be a JSON object image → argv: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error(`${LOCAL_IMAGES_ENV} must be a JSON object image → argv, got ${raw.slice(0, 80)}`);
  for (const [image, argv] of Object.entries(parsed))
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string' && a.length > 0))
      throw new Error(
        `${LOCAL_IMAGES_ENV}: '${image}' must map to a non-empty list of strings (program and arguments)`,
      );
  return parsed as Record<string, string[]>;
}

export function commandFor(policy: LocalRunPolicy, image: string): string[] | undefined {
  return policy.images[image] ?? policy.images[image.replace(/:[^/:]*$/, '')];
}

/** The argv a service runs, or an InvalidSpec failure saying why it may not run here. */
export function checkRunnable(policy: LocalRunPolicy, s: ServiceSpec, field: string): string[] {
  for (const [name, ref] of Object.entries(s.secretEnv ?? {}))
    if (policy.secrets[ref.secret]?.[ref.key] === undefined)
      throw invalidSpec(
        `${field} ('${s.name}').secretEnv.${name}: no secret '${ref.secret}' with key '${ref.key}' on this worker (secrets: ${Object.keys(policy.secrets).join(', ') || 'none'})`,
      );
  if (s.command?.length) {
    if (!policy.allowCommands)
      throw invalidSpec(
        `${field} ('${s.name}').command: the local platform does not run commands from a spec (they would run on the worker host); ` +
          `use an image the worker maps to an entry point (known: ${Object.keys(policy.images).join(', ') || 'none'}; add more with ${LOCAL_IMAGES_ENV})`,
      );
    return s.command;
  }
  const argv = commandFor(policy, s.image);
  if (!argv)
    throw invalidSpec(
      `${field} ('${s.name}').image ${JSON.stringify(s.image)} is not an image this worker runs (known: ${Object.keys(policy.images).join(', ') || 'none'}; add one with ${LOCAL_IMAGES_ENV})`,
    );
  return argv;
}

/** The environment a replica gets from its secrets (resolved on the worker, never in the spec). */
export function secretEnvOf(policy: LocalRunPolicy, s: ServiceSpec): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, ref] of Object.entries(s.secretEnv ?? {})) {
    const value = policy.secrets[ref.secret]?.[ref.key];
    if (value !== undefined) env[name] = value;
  }
  return env;
}
