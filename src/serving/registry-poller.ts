/**
 * Follows the registry's production version without being told: every period, ask the registry
 * and switch when production moved. The push path (POST /admin/model from the platform) is the
 * fast one; polling is for servers nobody tells, e.g. replicas a cluster started on its own.
 */
import type { ModelSource } from './model-source.js';
import type { VersionSwitcher } from './version-switcher.js';

/** Starts polling; returns the function that stops it. */
export function pollProductionVersion(options: {
  everyMs: number;
  source: ModelSource;
  switcher: VersionSwitcher;
  /** The version being served now (a string, as the slot holds it). */
  served(): string | undefined;
  log(line: string): void;
}): () => void {
  const { everyMs, source, switcher, served, log } = options;
  const timer = setInterval(() => {
    void source
      .productionVersion()
      .then((v) => (v !== undefined && String(v) !== served() ? switcher.switchTo(v) : undefined))
      .catch((err: unknown) => log(`registry poll failed: ${(err as Error).message}`));
  }, everyMs);
  // A poll must not keep a closing process alive.
  timer.unref();
  return () => clearInterval(timer);
}
