import tseslint from 'typescript-eslint';
import prettierConfig from 'eslint-config-prettier';
import { layersPlugin } from './eslint/layers.js';

const nodeBuiltins = [
  'fs',
  'path',
  'os',
  'child_process',
  'http',
  'https',
  'net',
  'crypto',
  'stream',
  'url',
  'util',
  'events',
  'worker_threads',
  'zlib',
  'dns',
  'timers',
  'process',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.scanflow/**', '*.config.js', 'eslint/**'] },
  ...tseslint.configs.recommended,
  prettierConfig,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Imports point down the layers (table and reasons in eslint/layers.js, diagram in docs/architecture.md).
    files: ['src/**/*.ts', 'workers/**/*.ts'],
    plugins: { scanflow: layersPlugin(import.meta.dirname) },
    rules: { 'scanflow/layers': 'error' },
  },
  {
    // Every heartbeat goes through beat() (src/activities/support.ts), which remembers its details
    // so keepBeating repeats them instead of overwriting a resumable activity's checkpoint.
    files: ['src/**/*.ts', 'workers/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
    ignores: ['src/activities/support.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='heartbeat']",
          message: 'Heartbeat with beat() from src/activities/support.ts (keepBeating repeats its details).',
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@temporalio/activity',
              importNames: ['heartbeat'],
              message: 'Heartbeat with beat() from src/activities/support.ts (keepBeating repeats its details).',
            },
          ],
        },
      ],
    },
  },
  {
    // Workflow code must stay deterministic: no Node built-ins, no native modules, and
    // activity implementations only as types.
    files: ['src/workflows/**/*.ts', 'src/agents/**/*.ts', 'src/apps/*/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins
            .flatMap((m) => [m, `node:${m}`])
            .map((name) => ({ name, message: 'Workflow code must be deterministic: no Node built-ins.' })),
          patterns: [
            {
              group: ['**/activities/**', '!**/activities/**/types.js'],
              allowTypeImports: true,
              message: 'Import activities as types only (import type).',
            },
            // activities/*/types.js files are type-only contracts; the rest of ml/platform/serving is not workflow-safe.
            {
              group: [
                '@tensorflow/*',
                '@kubernetes/*',
                'minio',
                'prom-client',
                '**/ml/**',
                '**/platform/**',
                '**/serving/**',
                '!**/activities/**/types.js',
              ],
              message: 'Side-effecting libraries belong in activities, not workflow code.',
            },
          ],
        },
      ],
    },
  },
);
