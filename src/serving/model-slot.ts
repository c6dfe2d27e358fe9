/**
 * Holds the model version being served and switches versions without dropping a request:
 * a new version is loaded before the switch, requests take a lease on the version current when
 * their batch starts, and the old version is disposed only after its last lease is released.
 */
import type { ServableModel } from './servable-model.js';

interface Entry {
  model: ServableModel;
  leases: number;
  retired: boolean;
}

export interface Lease {
  readonly model: ServableModel;
  release(): void;
}

export class ModelSlot {
  private current: Entry | undefined;
  private readonly retiring = new Set<Entry>();

  constructor(private readonly onChange?: (version: string | undefined, previous: string | undefined) => void) {}

  get version(): string | undefined {
    return this.current?.model.version;
  }

  get ready(): boolean {
    return this.current !== undefined;
  }

  /** Versions still held in memory (the current one and those draining their last requests). */
  get loadedVersions(): string[] {
    return [...(this.current ? [this.current.model.version] : []), ...[...this.retiring].map((e) => e.model.version)];
  }

  /** Leases held per version in memory (requests being answered or pinned to it). */
  get leases(): Record<string, number> {
    return Object.fromEntries(
      [...(this.current ? [this.current] : []), ...this.retiring].map((e) => [e.model.version, e.leases]),
    );
  }

  acquire(): Lease {
    const entry = this.current;
    if (!entry) throw new Error('no model version is loaded yet');
    return this.lease(entry);
  }

  /**
   * A lease on one version, current or still draining (a request pinned to the old version that
   * arrived before a switch keeps it alive until answered); undefined when it is not in memory.
   */
  acquireVersion(version: string): Lease | undefined {
    const entry = [...(this.current ? [this.current] : []), ...this.retiring].find((e) => e.model.version === version);
    return entry ? this.lease(entry) : undefined;
  }

  private lease(entry: Entry): Lease {
    entry.leases += 1;
    let released = false;
    return {
      model: entry.model,
      release: () => {
        if (released) return;
        released = true;
        entry.leases -= 1;
        this.disposeIfDrained(entry);
      },
    };
  }

  /** Makes `model` the served version; the previous one is disposed once its requests finish. */
  swap(model: ServableModel): void {
    const previous = this.current;
    this.current = { model, leases: 0, retired: false };
    if (previous) {
      previous.retired = true;
      this.retiring.add(previous);
      this.disposeIfDrained(previous);
    }
    this.onChange?.(model.version, previous?.model.version);
  }

  /** Disposes the current version (after its requests finish); the slot is empty afterwards. */
  clear(): void {
    const previous = this.current;
    this.current = undefined;
    if (previous) {
      previous.retired = true;
      this.retiring.add(previous);
      this.disposeIfDrained(previous);
    }
    this.onChange?.(undefined, previous?.model.version);
  }

  private disposeIfDrained(entry: Entry): void {
    if (!entry.retired || entry.leases > 0) return;
    this.retiring.delete(entry);
    entry.model.dispose();
  }
}
