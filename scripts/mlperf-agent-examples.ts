/**
 * Writes examples/agents/mlperf-<agent>.json: the MLPerf study's three planners (QoS tuner,
 * anti-affinity, fail-over) with their default parameters, ready for
 * `temporal workflow start --type agentWorkflow --task-queue scanflow-agents --workflow-id scanflow.mlperf.<agent> --input-file …`,
 * with `$schema` for editors. test/unit/apps/mlperf/agent-specs.test.ts keeps them in sync.
 *   npx tsx scripts/mlperf-agent-examples.ts
 */
import { writeFileSync } from 'node:fs';
import { mlperfAgents } from '../src/apps/mlperf/agents.js';

for (const spec of mlperfAgents()) {
  const file = new URL(`../examples/agents/mlperf-${spec.name}.json`, import.meta.url);
  writeFileSync(file, JSON.stringify({ $schema: '../../schemas/agent-spec.schema.json', ...spec }, null, 2) + '\n');
  console.log(`wrote ${file.pathname}`);
}
