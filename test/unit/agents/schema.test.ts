import { describe, expect, it } from '@jest/globals';
import { Ajv } from 'ajv';
import { readdirSync, readFileSync } from 'node:fs';
import { agentSpecJsonSchema, agentSpecJsonSchemaText } from '../../../src/agents/json-schema.js';
import { validateAgentSpec } from '../../../src/agents/validate.js';

const schemaFile = new URL('../../../schemas/agent-spec.schema.json', import.meta.url);
const examplesDir = new URL('../../../examples/agents/', import.meta.url);
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.json'));
const readExample = (file: string): unknown => JSON.parse(readFileSync(new URL(file, examplesDir), 'utf8'));

describe('the published JSON Schema of agent specs', () => {
  it('is the one generated from the zod schema (run `npm run schema` after changing src/agents/spec.ts)', () => {
    expect(readFileSync(schemaFile, 'utf8')).toBe(agentSpecJsonSchemaText());
  });

  it('compiles in strict mode', () => {
    expect(() => new Ajv({ allErrors: true }).compile(agentSpecJsonSchema())).not.toThrow();
  });

  const validate = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(schemaFile, 'utf8')));

  it.each(examples)('accepts examples/agents/%s, which points at it with $schema', (file) => {
    const example = readExample(file);
    expect(example).toMatchObject({ $schema: '../../schemas/agent-spec.schema.json' });
    expect(validate.errors ?? []).toEqual([]);
    expect(validate(example)).toBe(true);
    // and the runtime validation agrees, dropping the editor-only key
    expect(validateAgentSpec(example)).not.toHaveProperty('$schema');
  });

  it.each([
    ['an unknown top-level field', { app: 'a', name: 'b', strategies: [], colour: 'red' }],
    ['a bad name', { app: 'A', name: 'b', strategies: [] }],
    [
      'a trigger with two kinds',
      { app: 'a', name: 'b', strategies: [{ name: 's', when: { every: '1s', cron: '* * * * *' }, then: [] }] },
    ],
    [
      'a reference with an unknown root',
      {
        app: 'a',
        name: 'b',
        strategies: [{ name: 's', when: { call: 'c' }, if: { exists: { $ref: 'x.y' } }, then: [] }],
      },
    ],
    [
      'a comparison of two items',
      { app: 'a', name: 'b', strategies: [{ name: 's', when: { call: 'c' }, if: { compare: [1, '>'] }, then: [] }] },
    ],
  ])('rejects %s like the runtime validation does', (_case, spec) => {
    expect(validate(spec)).toBe(false);
    expect(() => validateAgentSpec(spec)).toThrow('invalid agent spec');
  });
});
