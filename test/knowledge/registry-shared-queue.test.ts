import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDirectoryStore } from '../../src/knowledge/local-store.js';
import { ModelRegistry } from '../../src/knowledge/model-registry.js';
import { buildClassifier } from '../../src/ml/classifier.js';

describe('model registry writers in one process', () => {
  it('never lose an update when different instances write the same registry at once', async () => {
    const store = new LocalDirectoryStore(mkdtempSync(join(tmpdir(), 'scanflow-registry-')));
    // The ML activities, the knowledge activities and the demo driver each hold their own instance.
    const [a, b, c] = [
      new ModelRegistry(store, 'shared'),
      new ModelRegistry(store, 'shared'),
      new ModelRegistry(store, 'shared'),
    ];
    const model = buildClassifier(1);
    for (let i = 0; i < 4; i++) await a.register({ model, metrics: { accuracy: 0.5 }, lineage: { datasets: [] } });
    model.dispose();
    await Promise.all([
      a.recordMetrics(1, { 'accuracy.drifted': 0.91 }),
      b.recordMetrics(2, { 'accuracy.drifted': 0.92 }),
      c.promote(3),
      a.recordMetrics(4, { 'accuracy.drifted': 0.94 }),
      b.archive(4),
    ]);
    const versions = await new ModelRegistry(store, 'shared').list();
    expect(versions.map((v) => [v.version, v.stage, v.metrics['accuracy.drifted'] ?? null])).toEqual([
      [1, 'candidate', 0.91],
      [2, 'candidate', 0.92],
      [3, 'production', null],
      [4, 'archived', 0.94],
    ]);
  });
});
