/**
 * The layer rule: which part of Scanflow may import which. A module's *area* is the first folder
 * under `src/` (or the file name, for `src/config.ts`), or `workers`. Every area must be listed
 * in the table; an import from an area to one it may not use fails `npm run lint`, naming both
 * and what the importing area may use. Tests, benchmarks and scripts may import anything.
 * Imports are resolved to files first, so `../activities/ml/x.js` is the area `activities`,
 * never `ml`. docs/architecture.md shows the table as a diagram (npm run docs:layers).
 */
import path from 'node:path';

/** @typedef {{ may: string[], typeOnly?: string[], why: string }} Layer */

/**
 * Which areas each area may import (its own always). `typeOnly`: only with `import type`, or from
 * a type-only contract module named `types.ts`.
 * @type {Record<string, Layer>}
 */
const runtimeLayers = {
  ml: { may: [], why: 'plain TensorFlow.js library code: models, data, drift detection' },
  agents: { may: [], why: 'the agent model: spec, validation, triggers, state, messages; workflow-safe' },
  knowledge: { may: ['ml'], why: 'the knowledge base: stores, model registry, prediction log' },
  report: { may: ['ml'], why: 'charts and pictures for reports' },
  temporal: { may: [], why: 'connections to Temporal: TLS, API key, payload encryption, codec server' },
  stack: { may: ['agents'], why: 'processes of the embedded stack (Temporal, S3, Prometheus)' },
  platform: { may: ['stack'], why: 'leaf adapters where Table IV primitives land (Kubernetes, local)' },
  serving: { may: ['ml', 'knowledge', 'platform', 'stack'], why: 'the Open Inference Protocol v2 model server' },
  traffic: { may: ['ml', 'knowledge'], why: 'load replay client' },
  loadgen: { may: ['ml', 'knowledge', 'serving'], why: 'MLPerf load generation (scenarios, SUTs, summary)' },
  activities: {
    may: ['agents', 'ml', 'knowledge', 'platform', 'serving', 'traffic', 'loadgen', 'stack'],
    why: 'every side effect, as Temporal activities',
  },
  workflows: { may: ['agents'], typeOnly: ['activities'], why: 'Temporal workflows: deterministic orchestration' },
  client: { may: ['agents'], typeOnly: ['workflows'], why: 'typed Temporal client for agents' },
  config: {
    may: ['agents', 'knowledge', 'serving', 'platform', 'temporal'],
    why: 'configuration from the environment',
  },
};
const runtime = Object.keys(runtimeLayers);

/** @type {Record<string, Layer>} */
export const layers = {
  ...runtimeLayers,
  apps: { may: runtime, typeOnly: ['workers'], why: 'case studies on top of the runtime' },
  workers: { may: [...runtime, 'apps'], why: 'worker assembly: runtime + apps (an entry point)' },
  cli: { may: [...runtime, 'apps', 'workers'], why: 'the scanflow command (an entry point)' },
};

/** The area of a repository-relative path, or null for code outside the layered tree. */
export function areaOf(relative) {
  const parts = relative.split(path.sep).join('/').split('/');
  if (parts[0] === 'workers') return 'workers';
  if (parts[0] !== 'src' || parts.length < 2) return null;
  return parts.length === 2 ? parts[1].replace(/\.(ts|js)$/, '') : parts[1];
}

function isTypeOnly(node) {
  if (node.importKind === 'type' || node.exportKind === 'type') return true;
  const specifiers = node.specifiers ?? [];
  return specifiers.length > 0 && specifiers.every((s) => s.importKind === 'type' || s.exportKind === 'type');
}

/** @param {string} root the repository root */
export function layersPlugin(root) {
  return {
    rules: {
      layers: {
        meta: {
          type: 'problem',
          docs: { description: 'Imports point down the layers of docs/architecture.md' },
          schema: [],
          messages: {
            unknownArea:
              'src/{{area}} is not in the layer table of eslint/layers.js: add it with the areas it may import',
            forbidden: '{{from}} may not import {{to}} ({{source}}): {{from}} ({{why}}) may import only {{allowed}}',
            typeOnly: '{{from}} may import {{to}} only as types (import type): {{source}}',
          },
        },
        create(context) {
          const file = context.filename;
          const from = areaOf(path.relative(root, file));
          if (from === null) return {};
          const layer = layers[from];
          if (!layer) {
            return { Program: (node) => context.report({ node, messageId: 'unknownArea', data: { area: from } }) };
          }
          const check = (node, source) => {
            if (typeof source !== 'string' || !source.startsWith('.')) return;
            const target = path.resolve(path.dirname(file), source);
            const to = areaOf(path.relative(root, target));
            if (to === null || to === from || layer.may.includes(to)) return;
            const contract = /(^|\/)types\.(js|ts)$/.test(source);
            if (layer.typeOnly?.includes(to)) {
              if (isTypeOnly(node) || contract) return;
              context.report({ node, messageId: 'typeOnly', data: { from, to, source } });
              return;
            }
            const allowed = [...layer.may, ...(layer.typeOnly ?? []).map((a) => `${a} (types)`)];
            context.report({
              node,
              messageId: 'forbidden',
              data: {
                from,
                to,
                source,
                why: layer.why,
                allowed: allowed.length ? `only ${allowed.join(', ')}` : 'nothing else of ours',
              },
            });
          };
          return {
            ImportDeclaration: (node) => check(node, node.source.value),
            ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
            ExportAllDeclaration: (node) => check(node, node.source.value),
            ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
          };
        },
      },
    },
  };
}
