/**
 * A model version is the registry's positive integer from end to end: the planner's verdict, the
 * executor's upgrade, the model server's admin body and its start-up option all carry the number.
 * Where a version has to cross a text-only boundary (an environment variable, a command-line flag,
 * a URL), it is written with String() and read back with `parseModelVersion`, the one parser, whose
 * error names the field it read.
 */

/** The environment variable that tells a model-server process (or container) which version to serve. */
export const MODEL_VERSION_ENV = 'SCANFLOW_MODEL_VERSION';

/** A registry version: a positive integer. */
export type ModelVersion = number;
/** What a switch may ask for: a version, or whatever the registry calls production right now. */
export type VersionChoice = ModelVersion | 'production';
/** What a server may start with: a choice, or nothing until a switch loads one. */
export type InitialVersion = VersionChoice | 'none';

const DIGITS = /^[1-9][0-9]*$/;

/**
 * Reads a version from a number or its decimal text, or one of the allowed keywords.
 * `field` names where the value came from, e.g. `--version`, `"version"`, `env.SCANFLOW_MODEL_VERSION`.
 */
export function parseModelVersion<K extends 'production' | 'none' = never>(
  value: unknown,
  field: string,
  keywords: readonly K[] = [],
): ModelVersion | K {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return value;
  if (typeof value === 'string') {
    if ((keywords as readonly string[]).includes(value)) return value as K;
    if (DIGITS.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  }
  const words = keywords.map((k) => `"${k}"`);
  const expected = ['a positive integer', ...words]
    .map((w, i, all) => (i === 0 ? w : i === all.length - 1 ? ` or ${w}` : `, ${w}`))
    .join('');
  throw new Error(`${field} must be ${expected}, got ${JSON.stringify(value) ?? String(value)}`);
}
