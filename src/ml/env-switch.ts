/**
 * An on/off switch read from the environment (`SCANFLOW_…=0|1`), the one way every such switch is
 * parsed: unset or empty means on; anything but 0 or 1 is refused with the variable's name.
 */
import { InvalidInputError } from './errors.js';

export function envSwitch(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === '1') return true;
  if (raw === '0') return false;
  throw new InvalidInputError(`${name} must be 0 or 1, got ${JSON.stringify(raw)}`);
}
