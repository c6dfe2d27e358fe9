/**
 * Writes examples/agents/mnist-<agent>.json: the case study's four agents (paper Table V) with
 * the paper's parameters (1 h interval, thresholds 1000 and 100), ready for
 * `temporal workflow start --type agentWorkflow --input-file …`, with `$schema` for editors. A test
 * keeps them in sync.
 *   npx tsx scripts/mnist-agent-examples.ts
 */
import { writeFileSync } from 'node:fs';
import { mnistAgents } from '../src/apps/mnist/agents.js';

for (const spec of mnistAgents()) {
  const file = new URL(`../examples/agents/mnist-${spec.name}.json`, import.meta.url);
  writeFileSync(file, JSON.stringify({ $schema: '../../schemas/agent-spec.schema.json', ...spec }, null, 2) + '\n');
  console.log(`wrote ${file.pathname}`);
}
