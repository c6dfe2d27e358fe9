/**
 * Runtime configuration from the environment, with the embedded one-machine defaults:
 * everything lives under ./.scanflow (Temporal's SQLite file, the knowledge base, logs).
 */
import { resolve } from 'node:path';
import type { KnowledgeStoreConfig } from './knowledge/types.js';
import { parseStoreArgument } from './serving/store-config.js';
import { temporalSettingsFrom, type TemporalSettings } from './temporal/connection-options.js';

export interface ScanflowConfig {
  /** Directory of the embedded stack's state (database, knowledge base, logs). */
  home: string;
  /** Address, namespace, TLS / API key and payload encryption (see src/temporal/connection-options.ts). */
  temporal: TemporalSettings;
  knowledge: KnowledgeStoreConfig;
  /** Where the platform primitives act: this machine (processes) or a Kubernetes cluster. */
  platform: { kind: 'local'; workDir: string } | { kind: 'kubernetes'; kubeconfig?: string; namespace: string };
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got '${raw}'`);
  return n;
}

function platformFrom(env: NodeJS.ProcessEnv, home: string): ScanflowConfig['platform'] {
  const kind = env.SCANFLOW_PLATFORM ?? 'local';
  if (kind === 'local') return { kind, workDir: resolve(home, 'platform') };
  if (kind === 'kubernetes')
    return { kind, kubeconfig: env.KUBECONFIG, namespace: env.SCANFLOW_K8S_NAMESPACE ?? 'scanflow' };
  throw new Error(`SCANFLOW_PLATFORM must be 'local' or 'kubernetes', got '${kind}'`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ScanflowConfig {
  const home = resolve(env.SCANFLOW_HOME ?? '.scanflow');
  // The same naming the model-server process takes (`--store s3://bucket`, keys from the environment).
  const knowledge: ScanflowConfig['knowledge'] = env.SCANFLOW_S3_ENDPOINT
    ? parseStoreArgument(`s3://${env.SCANFLOW_S3_BUCKET ?? 'scanflow'}`, env)
    : { kind: 'local', directory: resolve(env.SCANFLOW_KNOWLEDGE_DIR ?? resolve(home, 'knowledge')) };
  return {
    home,
    temporal: temporalSettingsFrom(env, int(env, 'SCANFLOW_UI_PORT', 8233)),
    knowledge,
    platform: platformFrom(env, home),
  };
}
