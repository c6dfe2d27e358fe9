/**
 * What the local platform needs to know about the model server, handed to it by the worker wiring
 * (workers/roles.ts) so the platform itself stays ignorant of serving:
 * - how to run the model-server image on this machine (main.ts through tsx);
 * - how a running server switches model version in place: a change of `SCANFLOW_MODEL_VERSION`
 *   alone, on a service annotated with `scanflow.io/model-admin-path`, becomes a POST of the
 *   version number to that admin path on each replica, with no restart and no dropped request.
 */
import { fileURLToPath } from 'node:url';
import type { InPlaceUpgrade } from '../platform/local/in-place-upgrade.js';
import type { LocalPlatformOptions } from '../platform/local/local-platform.js';
import { MODEL_VERSION_ENV, parseModelVersion, type VersionChoice } from './model-version.js';
import { MODEL_ADMIN_ANNOTATION, MODEL_SERVER_IMAGE } from './service-spec.js';
import { storeSecrets } from './store-config.js';
import type { KnowledgeStoreConfig } from '../knowledge/types.js';

/** A switch loads the new version before answering: a large model on a busy CPU takes a while. */
const SWITCH_TIMEOUT_MS = 120_000;

/** `node --import tsx src/serving/main.ts`: the model-server image as a local command. */
export function modelServerCommand(): string[] {
  return [process.execPath, '--import', 'tsx', fileURLToPath(new URL('./main.ts', import.meta.url))];
}

/** Tells a running model server to serve `version`; the server's refusal is returned, not thrown. */
export async function switchModelVersion(url: string, version: VersionChoice): Promise<{ refused?: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ version }),
    signal: AbortSignal.timeout(SWITCH_TIMEOUT_MS),
  });
  if (res.ok) return {};
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  return { refused: body.error ?? `HTTP ${res.status}` };
}

/** The model server's hot version switch, as the local platform's in-place upgrade hook. */
export const modelVersionSwitch: InPlaceUpgrade = {
  plan(service, change) {
    const adminPath = service.annotations?.[MODEL_ADMIN_ANNOTATION];
    const env = change.env ?? {};
    const onlyVersion =
      change.image === undefined &&
      change.command === undefined &&
      change.args === undefined &&
      Object.keys(env).length === 1 &&
      env[MODEL_VERSION_ENV] !== undefined;
    if (!adminPath || !onlyVersion) return undefined;
    const version = parseModelVersion(env[MODEL_VERSION_ENV], `env.${MODEL_VERSION_ENV}`, ['production']);
    return {
      description: `model version ${version}`,
      apply: (replicaUrl) => switchModelVersion(`${replicaUrl}${adminPath}`, version),
    };
  },
};

/**
 * The local platform options that let it run and hot-switch model servers, and resolve the Secret
 * references a model-server spec carries for `store` (the S3 keys; see storeForService).
 */
export function localModelServerSupport(
  store?: KnowledgeStoreConfig,
): Required<Pick<LocalPlatformOptions, 'images' | 'inPlaceUpgrade' | 'secrets'>> {
  return {
    images: { [MODEL_SERVER_IMAGE]: modelServerCommand() },
    inPlaceUpgrade: modelVersionSwitch,
    secrets: store ? storeSecrets(store) : {},
  };
}
