/**
 * Dynamic batching: concurrent infer requests are queued and run together as one model call,
 * which amortises the fixed cost of a TensorFlow call over many images. One batch runs at a
 * time (native TensorFlow already uses every core for one call, and blocks the event loop while
 * it computes); requests that arrive meanwhile form the next batch.
 *
 * How long a queued request waits for company (policy `wait`):
 * - 'arrivals' (default): only while other requests are being received (headers seen, body not
 *   yet parsed), and at most `maxWaitMs`; with nothing else arriving it runs on the next turn of
 *   the event loop. A lone client pays no batching delay; a busy server still merges.
 * - 'fixed': always up to `maxWaitMs` after the first queued request (Triton's max queue delay).
 * With `maxWaitMs` 0 both run on the next event-loop turn.
 *
 * Load shedding: at most `maxQueuedImages` images wait (default 8 x maxBatchSize); a request that
 * would go past it is refused at once with an OverloadedError (the server answers 503 with
 * `retry-after`), so an overload costs the clients a retry instead of the server its memory and
 * every queued request its latency. A request alone in an empty queue is always accepted.
 */

/** The queue is full: the request was not queued (the server answers 503). */
export class OverloadedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OverloadedError';
  }
}

export type BatchWaitPolicy = 'arrivals' | 'fixed';

export interface BatchingOptions {
  /** Images per model call; a single request larger than this runs alone. */
  maxBatchSize: number;
  /** Longest a request waits for company before its batch runs (ms). */
  maxWaitMs: number;
  /** Default 'arrivals'. */
  wait?: BatchWaitPolicy;
  /** Images allowed to wait at once (default 8 x maxBatchSize); more are refused with OverloadedError. */
  maxQueuedImages?: number;
}

/** Held from the moment a request starts arriving until it is submitted (or rejected). */
export interface Arrival {
  done(): void;
}

/** A batch as the model sees it: the images of several requests, concatenated row-major. */
export interface Batch<Meta> {
  images: Float32Array;
  count: number;
  /** Per request, in order: its metadata, first row and row count. */
  parts: Array<{ meta: Meta; offset: number; count: number }>;
}

interface Pending<Meta, Out> {
  images: Float32Array;
  count: number;
  meta: Meta;
  resolve: (out: Out) => void;
  reject: (err: unknown) => void;
}

/**
 * `run` receives a whole batch and returns one result per part (same order); a thrown error
 * fails every request of the batch, an Error in the returned array fails only that request.
 */
export type BatchRunner<Meta, Out> = (batch: Batch<Meta>) => Promise<Array<Out | Error>>;

export class DynamicBatcher<Meta, Out> {
  private queue: Array<Pending<Meta, Out>> = [];
  private queuedImages = 0;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private arriving = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly options: BatchingOptions,
    private readonly run: BatchRunner<Meta, Out>,
  ) {
    if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1) {
      throw new Error(`batching.maxBatchSize must be an integer >= 1, got ${options.maxBatchSize}`);
    }
    if (!Number.isFinite(options.maxWaitMs) || options.maxWaitMs < 0) {
      throw new Error(`batching.maxWaitMs must be a number >= 0, got ${options.maxWaitMs}`);
    }
    const maxQueued = options.maxQueuedImages;
    if (maxQueued !== undefined && (!Number.isInteger(maxQueued) || maxQueued < 1)) {
      throw new Error(`batching.maxQueuedImages must be an integer >= 1, got ${maxQueued}`);
    }
    if (options.wait !== undefined && options.wait !== 'arrivals' && options.wait !== 'fixed') {
      throw new Error(`batching.wait must be "arrivals" or "fixed", got ${JSON.stringify(options.wait)}`);
    }
  }

  /** Images waiting (not yet in a running batch). */
  get queued(): number {
    return this.queuedImages;
  }

  submit(images: Float32Array, count: number, meta: Meta): Promise<Out> {
    const limit = this.options.maxQueuedImages ?? 8 * this.options.maxBatchSize;
    if (this.queue.length > 0 && this.queuedImages + count > limit) {
      return Promise.reject(
        new OverloadedError(
          `the server is overloaded: ${this.queuedImages} images already wait for the model (limit ${limit}); retry shortly`,
        ),
      );
    }
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ images, count, meta, resolve, reject });
      this.queuedImages += count;
      this.schedule();
    });
  }

  /** Requests queued or running. */
  get pending(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  /** Resolves once nothing is queued or running (used to drain before shutdown). */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Marks a request as on its way: with the 'arrivals' policy, queued requests wait for it. */
  arrive(): Arrival {
    this.arriving += 1;
    let finished = false;
    return {
      done: () => {
        if (finished) return;
        finished = true;
        this.arriving -= 1;
        this.schedule();
      },
    };
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.queuedImages >= this.options.maxBatchSize) {
      this.flush();
      return;
    }
    const policy = this.options.wait ?? 'arrivals';
    const wait = this.options.maxWaitMs > 0 && (policy === 'fixed' || this.arriving > 0);
    if (wait) {
      this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
      return;
    }
    // One turn of the event loop: requests parsed in the same turn join the batch.
    this.immediate ??= setImmediate(() => {
      this.immediate = undefined;
      this.flush();
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.queue.length === 0) return;
    const taken = this.take();
    this.running = true;
    void this.execute(taken).finally(() => {
      this.running = false;
      if (this.queue.length === 0) {
        for (const wake of this.idleWaiters.splice(0)) wake();
        return;
      }
      // Requests that queued while the model was busy have waited already. After one turn of the
      // event loop (so requests that arrived during the blocking model call get parsed), run them:
      // at once with the 'fixed' policy, or once nothing more is arriving with 'arrivals'.
      setImmediate(() => ((this.options.wait ?? 'arrivals') === 'fixed' ? this.flush() : this.schedule()));
    });
  }

  /** Whole requests, in arrival order, up to maxBatchSize images (at least one request). */
  private take(): Array<Pending<Meta, Out>> {
    const taken: Array<Pending<Meta, Out>> = [];
    let images = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (taken.length > 0 && images + next.count > this.options.maxBatchSize) break;
      taken.push(this.queue.shift()!);
      images += next.count;
    }
    this.queuedImages -= images;
    return taken;
  }

  private async execute(taken: Array<Pending<Meta, Out>>): Promise<void> {
    const count = taken.reduce((sum, p) => sum + p.count, 0);
    let images: Float32Array;
    if (taken.length === 1) {
      images = taken[0]!.images;
    } else {
      images = new Float32Array(count * (taken[0]!.images.length / taken[0]!.count));
      let at = 0;
      for (const p of taken) {
        images.set(p.images, at);
        at += p.images.length;
      }
    }
    let offset = 0;
    const parts = taken.map((p) => {
      const part = { meta: p.meta, offset, count: p.count };
      offset += p.count;
      return part;
    });
    try {
      const results = await this.run({ images, count, parts });
      taken.forEach((p, i) => {
        const r = results[i];
        if (r === undefined)
          p.reject(new Error(`batch runner returned ${results.length} results for ${taken.length} requests`));
        else if (r instanceof Error) p.reject(r);
        else p.resolve(r);
      });
    } catch (err) {
      for (const p of taken) p.reject(err);
    }
  }
}
