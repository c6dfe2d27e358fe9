/**
 * Test SUTs in the process: a fixed-delay SUT (every sample answered `delayMs` after it starts,
 * at most `concurrency` samples in service at once, the rest queued: a server with a known
 * capacity of concurrency × 1000 / delayMs samples/s), and the null SUT (answers at once) that
 * measures the generator itself.
 */
import type { CompleteFn, IssuedQuery, SystemUnderTest } from '../sut.js';

export interface FixedDelayOptions {
  delayMs: number;
  /** Samples served at once; the rest wait in a FIFO queue (default: unlimited). */
  concurrency?: number;
  name?: string;
}

export class FixedDelaySut implements SystemUnderTest {
  readonly name: string;
  private readonly queue: { id: number; complete: CompleteFn }[] = [];
  private busy = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  /** Samples answered so far. */
  answered = 0;

  constructor(private readonly options: FixedDelayOptions) {
    if (!(options.delayMs >= 0)) throw new Error(`FixedDelaySut: delayMs must be >= 0, got ${options.delayMs}`);
    this.name =
      options.name ?? `fixed-delay-${options.delayMs}ms${options.concurrency ? `-x${options.concurrency}` : ''}`;
  }

  issueQuery(query: IssuedQuery, complete: CompleteFn): void {
    for (const s of query.samples) this.queue.push({ id: s.id, complete });
    this.serve();
  }

  private serve(): void {
    const limit = this.options.concurrency ?? Infinity;
    while (!this.closed && this.busy < limit && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.busy += 1;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.busy -= 1;
        this.answered += 1;
        job.complete([{ id: job.id, ok: true, label: 0 }]);
        this.serve();
      }, this.options.delayMs);
      this.timers.add(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
  }
}

/** Answers every sample synchronously: what remains of a run's cost is the generator's. */
export class NullSut implements SystemUnderTest {
  readonly name = 'null';
  issueQuery(query: IssuedQuery, complete: CompleteFn): void {
    complete(query.samples.map((s) => ({ id: s.id, ok: true })));
  }
}
