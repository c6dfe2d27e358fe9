/**
 * The layer rule fires: an import that points back up the layers fails `npm run lint`. Checked on
 * the repository's own ESLint config (the rule is on for src/ and workers/) and on source text
 * placed in each layer, one named row per case.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { areaOf, layers, layersPlugin } from '../../../eslint/layers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** ESLint with only the layer rule (no type information needed for text that is not on disk). */
const layerLinter = new ESLint({
  cwd: root,
  overrideConfigFile: true,
  overrideConfig: [
    {
      files: ['**/*.ts'],
      languageOptions: { parser: tseslint.parser },
      plugins: { scanflow: layersPlugin(root) },
      rules: { 'scanflow/layers': 'error' },
    },
  ],
});

async function lint(file: string, code: string): Promise<string[]> {
  const [result] = await layerLinter.lintText(code, { filePath: path.join(root, file) });
  return (result?.messages ?? []).map((m) => m.message);
}

describe('the layer rule', () => {
  it('is switched on by the repository config for runtime, app and worker code', async () => {
    const eslint = new ESLint({ cwd: root });
    for (const file of ['src/ml/tf.ts', 'src/platform/types.ts', 'src/apps/mnist/app.ts', 'workers/roles.ts']) {
      const config = (await eslint.calculateConfigForFile(path.join(root, file))) as { rules: Record<string, unknown> };
      expect([config.rules['scanflow/layers']].flat()[0]).toBe(2);
    }
  });

  it.each([
    ['ml → knowledge', 'src/ml/x.ts', "import { a } from '../knowledge/types.js';", 'ml may not import knowledge'],
    ['ml → serving', 'src/ml/x.ts', "export * from '../serving/server.js';", 'ml may not import serving'],
    ['knowledge → serving', 'src/knowledge/x.ts', "import '../serving/server.js';", 'knowledge may not import serving'],
    [
      'platform → serving',
      'src/platform/local/x.ts',
      "import { s } from '../../serving/service-spec.js';",
      'platform may not import serving',
    ],
    [
      'runtime → app',
      'src/workflows/x.ts',
      "import { n } from '../apps/mnist/names.js';",
      'workflows may not import apps',
    ],
    [
      'activities → app',
      'src/activities/ml/x.ts',
      "import { n } from '../../apps/mnist/names.js';",
      'activities may not import apps',
    ],
    [
      'activities → workflows',
      'src/activities/agents/x.ts',
      "import { m } from '../../workflows/agent.js';",
      'activities may not import workflows',
    ],
    [
      'runtime → workers',
      'src/stack/x.ts',
      "import { w } from '../../workers/run.js';",
      'stack may not import workers',
    ],
    [
      'agents → activities',
      'src/agents/x.ts',
      "import type { A } from '../activities/agents/runtime.js';",
      'agents may not import activities',
    ],
    [
      'workflow → activity value',
      'src/workflows/x.ts',
      "import { createMlActivities } from '../activities/ml/ml-activities.js';",
      'only as types',
    ],
    ['dynamic import', 'src/ml/x.ts', "const m = await import('../platform/types.js');", 'ml may not import platform'],
    ['unknown area', 'src/newthing/x.ts', 'export const x = 1;', 'not in the layer table'],
  ])('refuses %s', async (_name, file, code, expected) => {
    const messages = await lint(file, code);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(expected);
  });

  it.each([
    ['knowledge → ml', 'src/knowledge/x.ts', "import { tf } from '../ml/tf.js';"],
    [
      'workflow → activity types',
      'src/workflows/x.ts',
      "import type { MlActivities } from '../activities/ml/ml-activities.js';",
    ],
    [
      'workflow → activity contract module',
      'src/workflows/x.ts',
      "import { DriftPhase } from '../activities/ml/types.js';",
    ],
    ['activities → platform', 'src/activities/platform/x.ts', "import { p } from '../../platform/types.js';"],
    ['app → runtime', 'src/apps/mnist/x.ts', "import { w } from '../../workflows/agent.js';"],
    ['workers → app', 'workers/x.ts', "import { mnistApp } from '../src/apps/mnist/app.js';"],
    ['within a layer', 'src/ml/x.ts', "import { tf } from './tf.js';"],
    ['packages', 'src/ml/x.ts', "import * as tfn from '@tensorflow/tfjs-node';"],
    ['tests are outside the layers', 'test/x.ts', "import { n } from '../src/apps/mnist/names.js';"],
  ])('allows %s', async (_name, file, code) => {
    expect(await lint(file, code)).toEqual([]);
  });

  it('maps paths to areas (first folder under src/, a file at the top of src/, workers)', () => {
    expect(areaOf('src/activities/ml/train.ts')).toBe('activities');
    expect(areaOf('src/config.ts')).toBe('config');
    expect(areaOf('workers/main.ts')).toBe('workers');
    expect(areaOf('test/unit/x.ts')).toBeNull();
    for (const [area, layer] of Object.entries(layers)) {
      for (const dep of [...layer.may, ...(layer.typeOnly ?? [])]) expect(dep in layers).toBe(true);
      expect(layer.may).not.toContain(area);
    }
  });
});

describe('docs/architecture.md', () => {
  it('shows the layer table as it is (npm run docs:layers regenerates it)', () => {
    const script = path.join(root, 'scripts/layers-diagram.mjs');
    expect(execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' })).toContain('matches');
  });
});
