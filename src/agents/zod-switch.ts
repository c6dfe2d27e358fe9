/**
 * A zod union that picks its branch from the input instead of trying every branch. The spec's
 * unions (triggers, constraints, actions, JSON values) are told apart by a property name or a
 * type, so the error can name the field that is wrong inside the branch the author meant, rather
 * than zod's generic "invalid union" listing every branch's complaints. For zod's JSON Schema
 * output and for type inference it is an ordinary union (`anyOf` of the branches).
 * Pure: runs in workflow code.
 */
import { z } from 'zod/v4';

/** The branch to parse the input with, or the message of why none applies. */
type Selector<T extends readonly z.ZodType[]> = (input: unknown) => T[number] | string;

interface SwitchDef<T extends readonly z.ZodType[]> {
  type: 'union';
  options: T;
  select: Selector<T>;
}

type Internals = {
  _zod: {
    def: SwitchDef<readonly z.ZodType[]>;
    parse: (payload: z.core.ParsePayload, ctx: z.core.ParseContext<z.core.$ZodIssue>) => unknown;
    run: (payload: z.core.ParsePayload, ctx: z.core.ParseContext<z.core.$ZodIssue>) => unknown;
  };
};

// Built the way zod builds its own discriminated union: a union whose parse step is replaced.
const ZodSwitch = z.core.$constructor<Internals>('ZodSwitch', (inst, def) => {
  (z.ZodUnion as unknown as { init(inst: unknown, def: unknown): void }).init(inst, def);
  inst._zod.parse = (payload, ctx) => {
    const picked = def.select(payload.value);
    if (typeof picked === 'string') {
      payload.issues.push({ code: 'custom', message: picked, input: payload.value, path: [] });
      return payload;
    }
    return (picked as unknown as Internals)._zod.run(payload, ctx);
  };
});

/** A union parsed by the branch `select` returns (a string is the error message at this field). */
export function switchUnion<const T extends readonly [z.ZodType, ...z.ZodType[]]>(
  options: T,
  select: Selector<T>,
): z.ZodUnion<T> {
  return new (ZodSwitch as unknown as new (def: SwitchDef<T>) => z.ZodUnion<T>)({ type: 'union', options, select });
}

/** A JSON-ish value for messages: `"often"`, `12`, `nothing`; long values cut. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Branches = Record<string, z.ZodObject>;

/**
 * A union of objects told apart by which one of the branch keys is present, e.g. a trigger is
 * `{ every }`, `{ at }` or `{ cron }`. `refuse` gives a message for keys that are known but not
 * allowed here (AND members cannot be nested AND/OR).
 */
export function oneKeyOf<const B extends Branches>(
  branches: B,
  refuse: Record<string, string> = {},
): z.ZodUnion<[B[keyof B], ...B[keyof B][]]> {
  const keys = Object.keys(branches);
  const options = Object.values(branches) as [B[keyof B], ...B[keyof B][]];
  return switchUnion(options, (input) => {
    if (!isPlainObject(input)) return `expected an object, got ${describe(input)}`;
    const refused = Object.keys(refuse).find((k) => k in input);
    if (refused !== undefined) return refuse[refused] as string;
    const present = keys.filter((k) => k in input);
    if (present.length === 0) return `expected one of ${keys.map((k) => `"${k}"`).join(', ')}`;
    if (present.length > 1) return `expected only one of ${present.join(', ')}`;
    return branches[present[0] as string] as B[keyof B];
  });
}
