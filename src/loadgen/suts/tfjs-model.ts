/**
 * The model in the process, on native TensorFlow: the physical limit of the machine, with no HTTP
 * or JSON in the way. Samples queue up and are predicted in batches of up to `maxBatch`, one
 * batch at a time (the CPU is the bottleneck), each sample answered when its batch is done.
 */
import type * as TF from '@tensorflow/tfjs-node';
import { tensorflow } from '../../ml/tf.js';
import type { ImageQsl } from '../qsl.js';
import type { CompleteFn, IssuedQuery, SystemUnderTest } from '../sut.js';

export interface TfjsModelSutOptions {
  model: TF.LayersModel;
  qsl: ImageQsl;
  /** Samples predicted together at most (default 256). */
  maxBatch?: number;
  name?: string;
}

export class TfjsModelSut implements SystemUnderTest {
  readonly name: string;
  private readonly queue: { id: number; index: number; complete: CompleteFn }[] = [];
  private running = false;
  private closed = false;

  constructor(private readonly o: TfjsModelSutOptions) {
    this.name = o.name ?? `tfjs ${o.model.name}`;
  }

  issueQuery(query: IssuedQuery, complete: CompleteFn): void {
    for (const s of query.samples) this.queue.push({ id: s.id, index: s.index, complete });
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    const tf = tensorflow();
    const size = this.o.qsl.sampleSize;
    const inputShape = this.o.model.inputs[0]?.shape ?? [];
    try {
      while (!this.closed && this.queue.length) {
        const batch = this.queue.splice(0, this.o.maxBatch ?? 256);
        const pixels = new Float32Array(batch.length * size);
        batch.forEach((b, k) => pixels.set(this.o.qsl.pixels(b.index), k * size));
        const labels = tf.tidy(() => {
          const x =
            inputShape.length === 2
              ? tf.tensor2d(pixels, [batch.length, size])
              : tf.tensor4d(pixels, [batch.length, this.o.qsl.images.height, this.o.qsl.images.width, 1]);
          return (this.o.model.predict(x) as TF.Tensor2D).argMax(1);
        });
        const values = await labels.data();
        labels.dispose();
        // One completion call per query (samples of one query share the callback).
        const byQuery = new Map<CompleteFn, { id: number; ok: boolean; label: number }[]>();
        batch.forEach((b, k) => {
          const list = byQuery.get(b.complete) ?? [];
          list.push({ id: b.id, ok: true, label: values[k] as number });
          byQuery.set(b.complete, list);
        });
        for (const [complete, responses] of byQuery) complete(responses);
      }
    } finally {
      this.running = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
  }
}
