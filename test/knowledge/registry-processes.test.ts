/**
 * Registry writers in SEPARATE PROCESSES, all writing one model's registry at the same moment
 * (two ML workers, a driver, the serving poller): every register, metric and promotion that a
 * writer was told succeeded must be in the final document, and no version number may be handed
 * out twice. On the S3 backend this rests on conditional PUTs (If-Match / If-None-Match on the
 * document's ETag); on a local directory on a lock file and an atomic rename.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelRegistry } from '../../src/knowledge/model-registry.js';
import { openKnowledgeStore } from '../../src/knowledge/open-store.js';
import type { KnowledgeStoreConfig, ModelVersionRecord } from '../../src/knowledge/types.js';
import { s3Config } from '../harness/env.js';
import type { WriterReport } from './fixtures/registry-writer.js';

const WRITERS = 4;
const ROUNDS = 6;
const fixture = fileURLToPath(new URL('./fixtures/registry-writer.ts', import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function runWriter(
  config: KnowledgeStoreConfig,
  model: string,
  writer: string,
  startAt: number,
): Promise<WriterReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fixture, JSON.stringify(config), model, writer, String(ROUNDS), String(startAt)],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as WriterReport);
      } catch {
        reject(new Error(`writer ${writer} exited ${code} without a report: ${out}\n${err}`));
      }
    });
  });
}

/** What the final document says against what each writer was told. */
export function audit(reports: WriterReport[], versions: ModelVersionRecord[]) {
  const byVersion = new Map(versions.map((v) => [v.version, v]));
  const handedOut = reports.flatMap((r) => r.registered);
  const duplicates = [...new Set(handedOut.filter((v, i) => handedOut.indexOf(v) !== i))];
  const lost: string[] = [];
  for (const r of reports) {
    r.registered.forEach((v, round) => {
      const record = byVersion.get(v);
      if (!record || record.lineage.notes !== `${r.writer} round ${round}`)
        lost.push(
          `register v${v} by ${r.writer} (round ${round}): the document has ${record?.lineage.notes ?? 'nothing'}`,
        );
    });
    for (const v of r.metrics)
      if (byVersion.get(v)?.metrics[`by.${r.writer}`] === undefined) lost.push(`metrics of v${v} by ${r.writer}`);
    for (const v of r.promoted) {
      const record = byVersion.get(v);
      if (!record?.promotedAt || record.stage === 'candidate')
        lost.push(`promotion of v${v} by ${r.writer}: stage ${record?.stage ?? 'missing'}`);
    }
  }
  const production = versions.filter((v) => v.stage === 'production');
  const attempted = reports.length * ROUNDS * 3;
  const succeeded = reports.reduce((n, r) => n + r.registered.length + r.metrics.length + r.promoted.length, 0);
  return { attempted, succeeded, lost, duplicates, production: production.map((v) => v.version) };
}

const backends: Array<[string, () => KnowledgeStoreConfig]> = [
  [
    's3 (versitygw)',
    () => ({ kind: 's3', ...s3Config(), bucket: `kb-procs-${process.pid}-${Date.now().toString(36)}`, prefix: 'kb/' }),
  ],
  [
    'local directory',
    () => {
      const directory = mkdtempSync(join(tmpdir(), 'scanflow-registry-procs-'));
      dirs.push(directory);
      return { kind: 'local', directory };
    },
  ],
];

describe.each(backends)(`model registry written by ${WRITERS} separate processes on %s`, (name, makeConfig) => {
  it('loses no update and hands out no version twice', async () => {
    const config = makeConfig();
    const model = 'contended';
    // Create the bucket / directory before the writers race for it.
    await openKnowledgeStore(config).putJson('ready.json', {});
    const startAt = Date.now() + 6_000;
    const reports = await Promise.all(
      Array.from({ length: WRITERS }, (_, i) => runWriter(config, model, `w${i}`, startAt)),
    );
    const versions = await new ModelRegistry(openKnowledgeStore(config), model).list();
    const result = audit(reports, versions);
    console.log(
      `registry on ${name}, ${WRITERS} processes × ${ROUNDS} rounds: updates attempted ${result.attempted}, ` +
        `succeeded ${result.succeeded}, lost ${result.lost.length}, duplicate versions ${result.duplicates.length}, ` +
        `versions in the document ${versions.length}, production ${JSON.stringify(result.production)}, ` +
        `compare-and-swaps lost and re-applied ${reports.reduce((n, r) => n + (r.conflicts ?? 0), 0)}` +
        (result.lost.length ? `\n  lost: ${result.lost.slice(0, 10).join('\n  lost: ')}` : '') +
        (reports.some((r) => r.errors.length) ? `\n  errors: ${reports.flatMap((r) => r.errors).join('\n  ')}` : ''),
    );
    expect(reports.flatMap((r) => r.errors)).toEqual([]);
    expect(result.succeeded).toBe(result.attempted);
    expect(result.duplicates).toEqual([]);
    expect(result.lost).toEqual([]);
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: WRITERS * ROUNDS }, (_, i) => i + 1));
    expect(result.production).toHaveLength(1);
    // The production version is the one promoted last; every other promoted one is archived.
    const last = [...versions].sort((a, b) => (b.promotedAt ?? '').localeCompare(a.promotedAt ?? ''))[0]!;
    expect(result.production).toEqual([last.version]);
  }, 180_000);
});
