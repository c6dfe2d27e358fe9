/**
 * Loads a model version and makes it the served one, one switch at a time. The new version is
 * loaded while the old one keeps answering; the slot then swaps them, and the old version is
 * disposed once the requests already in its batches finish (model-slot.ts).
 */
import { ProtocolError } from './protocol.js';
import type { ModelSlot } from './model-slot.js';
import type { ModelSource } from './model-source.js';
import type { ServingMetrics } from './metrics.js';
import type { VersionChoice } from './model-version.js';

export interface SwitchResult {
  version: string;
  previous: string | undefined;
}

export class VersionSwitcher {
  private switching: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly modelName: string,
    private readonly source: ModelSource,
    private readonly slot: ModelSlot,
    private readonly metrics: ServingMetrics,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Loads `version` (or the registry's production version) and serves it. Switches are
   * serialised; switching to the version already served is a no-op.
   */
  switchTo(version: VersionChoice): Promise<SwitchResult> {
    const next = this.switching.then(async () => {
      const target = version === 'production' ? await this.source.productionVersion() : version;
      if (target === undefined)
        throw new ProtocolError(409, `model ${this.modelName} has no production version in the registry`);
      const previous = this.slot.version;
      if (previous === String(target)) return { version: previous, previous };
      let model;
      try {
        model = await this.source.load(target);
      } catch (err) {
        this.metrics.modelLoadFailures.inc({ model: this.modelName });
        throw new Error(`cannot load model ${this.modelName} version ${target}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      this.slot.swap(model);
      this.log(`model ${this.modelName}: now serving version ${model.version} (was ${previous ?? 'none'})`);
      return { version: model.version, previous };
    });
    this.switching = next.catch(() => undefined);
    return next;
  }

  /** Resolves once no switch is under way (at shutdown, so no model is loaded after close). */
  async idle(): Promise<void> {
    await this.switching;
  }
}
