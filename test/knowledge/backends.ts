/** The two store backends as test fixtures: a fresh local directory, and a fresh bucket on the harness's S3 server. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDirectoryStore } from '../../src/knowledge/local-store.js';
import { S3Store } from '../../src/knowledge/s3-store.js';
import type { KnowledgeStore } from '../../src/knowledge/types.js';
import { s3Config } from '../harness/env.js';

export interface Backend {
  name: string;
  open(): KnowledgeStore;
  cleanup(): void;
}

let counter = 0;

export const BACKENDS: Backend[] = [
  (() => {
    const dirs: string[] = [];
    return {
      name: 'local directory',
      open: () => {
        const dir = mkdtempSync(join(tmpdir(), 'scanflow-kb-'));
        dirs.push(dir);
        return new LocalDirectoryStore(dir);
      },
      cleanup: () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })),
    };
  })(),
  {
    name: 's3 (versitygw)',
    open: () => {
      counter += 1;
      return new S3Store({
        ...s3Config(),
        bucket: `kb-test-${process.pid}-${Date.now().toString(36)}-${counter}`,
        prefix: 'scanflow/',
      });
    },
    cleanup: () => undefined,
  },
];
