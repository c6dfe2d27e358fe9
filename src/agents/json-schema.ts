/**
 * The published JSON Schema of an agent spec (schemas/agent-spec.schema.json), generated from the
 * zod schemas in spec.ts by `npm run schema`; a unit test keeps the committed file in step.
 * It describes what an author writes (defaults may be left out), for editor completion and CI.
 */
import { z } from 'zod/v4';
import { AgentSpecSchema } from './spec.js';

export function agentSpecJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(AgentSpecSchema, {
    target: 'draft-7',
    io: 'input',
    override: (ctx) => {
      const schema = ctx.jsonSchema as { id?: unknown; anyOf?: object[] };
      // the `id` metadata names the definitions; draft-7 would read it as a base URI, so drop it
      delete schema.id;
      // a one-branch union (a shape checked by a custom message first) is just that branch
      if (schema.anyOf?.length === 1) {
        const [only] = schema.anyOf;
        delete schema.anyOf;
        Object.assign(schema, only);
      }
    },
  }) as Record<string, unknown>;
  return schema;
}

/** The file's text: stable key order from the schemas, two-space indent, final newline. */
export function agentSpecJsonSchemaText(): string {
  return `${JSON.stringify(agentSpecJsonSchema(), null, 2)}\n`;
}
