/** Opens the store a config names: the one entry point workers and the serving process use. */
import { LocalDirectoryStore } from './local-store.js';
import { S3Store } from './s3-store.js';
import { KnowledgeError, type KnowledgeStore, type KnowledgeStoreConfig } from './types.js';

export function openKnowledgeStore(config: KnowledgeStoreConfig): KnowledgeStore {
  switch (config?.kind) {
    case 'local':
      return new LocalDirectoryStore(config.directory);
    case 's3':
      return new S3Store(config);
    default:
      throw new KnowledgeError(
        'InvalidInput',
        `knowledge store config.kind must be 'local' or 's3', got ${JSON.stringify((config as { kind?: unknown })?.kind)}`,
      );
  }
}
