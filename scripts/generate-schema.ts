/**
 * Writes schemas/agent-spec.schema.json, the JSON Schema of agent specs, from the zod schemas in
 * src/agents/spec.ts (editors use it through the `$schema` key of examples/agents/*.json).
 *   npm run schema
 */
import { writeFileSync } from 'node:fs';
import { agentSpecJsonSchemaText } from '../src/agents/json-schema.js';

const file = new URL('../schemas/agent-spec.schema.json', import.meta.url);
writeFileSync(file, agentSpecJsonSchemaText());
console.log(`wrote ${file.pathname}`);
