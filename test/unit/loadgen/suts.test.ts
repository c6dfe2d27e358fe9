/**
 * The SUTs a run can drive, end to end through the runner: accuracy mode (every loaded sample
 * exactly once, the labels scored against the QSL), the in-process tfjs model (native TensorFlow,
 * a tiny model whose answers are known), and the OIP-v2 HTTP client (undici) against the
 * fixed-delay server: answers, labels in accuracy mode, and failures with their status.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  computeSummary,
  FixedDelaySut,
  HttpOipSut,
  ImageQsl,
  resolveSettings,
  runLoadgen,
  type CompleteFn,
  type IssuedQuery,
  type QslImages,
  type SystemUnderTest,
  type TestSettingsInput,
} from '../../../src/loadgen/index.js';
import { startFixedDelayServer, type FixedDelayServer } from '../../../src/loadgen/fixed-delay-server.js';
import { TfjsModelSut } from '../../../src/loadgen/suts/tfjs-model.js';
import { tensorflow } from '../../../src/ml/tf.js';

/** n 28×28 images; image i has its brightest pixel at position (i % 10): its label. */
function images(n: number): QslImages {
  const pixels = new Float32Array(n * 784);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 10;
    pixels[i * 784 + (i % 10)] = 1;
    pixels[i * 784 + 100 + (i % 7)] = 0.5; // something else, never in the first ten pixels
  }
  return { count: n, height: 28, width: 28, pixels, labels };
}

/** Answers at once with the label of the brightest of the first ten pixels, except for every 4th sample. */
class OracleSut implements SystemUnderTest {
  readonly name = 'oracle';
  seen: number[] = [];
  constructor(private readonly qsl: ImageQsl) {}
  issueQuery(query: IssuedQuery, complete: CompleteFn): void {
    complete(
      query.samples.map((s) => {
        this.seen.push(s.index);
        const first = Array.from(this.qsl.pixels(s.index).subarray(0, 10));
        const label = first.indexOf(Math.max(...first));
        return { id: s.id, ok: true, label: s.index % 4 === 0 ? (label + 1) % 10 : label };
      }),
    );
  }
}

async function run(input: TestSettingsInput, sut: SystemUnderTest, qsl: ImageQsl) {
  const settings = resolveSettings(input);
  const result = await runLoadgen({ settings, sut, qsl });
  const labelOf = settings.mode === 'AccuracyOnly' ? (i: number) => qsl.label(i) : undefined;
  return { result, summary: computeSummary(result.log, settings, sut.name, labelOf) };
}

describe('accuracy mode', () => {
  for (const scenario of ['Server', 'Offline', 'SingleStream', 'MultiStream'] as const) {
    it(`${scenario}: every sample of the QSL exactly once, scored against its label, VALID whatever the timing`, async () => {
      const qsl = new ImageQsl('digits', images(100), 40); // the performance sample count does not bound accuracy runs
      const sut = new OracleSut(qsl);
      const { result, summary } = await run(
        // Server at 2,000 QPS would need 10 s for its minimum duration in performance mode: not in accuracy mode
        { scenario, mode: 'AccuracyOnly', targetQps: 2000, expectedQps: 10, minDurationMs: 10_000 },
        sut,
        qsl,
      );
      expect(result.done).toBe(true);
      expect([...sut.seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(summary.samples).toBe(100);
      expect(result.log.label).toHaveLength(100);
      // every 4th sample is answered wrong: 25 of 100
      expect(summary.accuracy).toBeCloseTo(0.75, 10);
      expect(summary.result).toBe('VALID');
      expect(summary.constraints.minDurationMet).toBe(true);
    });
  }

  it('a performance run keeps no labels and reports no accuracy', async () => {
    const qsl = new ImageQsl('digits', images(64));
    const { result, summary } = await run(
      { scenario: 'Server', targetQps: 500, minDurationMs: 200 },
      new FixedDelaySut({ delayMs: 0 }),
      qsl,
    );
    expect(result.log.label).toBeUndefined();
    expect(summary.accuracy).toBeUndefined();
  });
});

describe('tfjs in-process SUT', () => {
  it('predicts in batches on native TensorFlow: Offline samples/s and accuracy of a model with known answers', async () => {
    const tf = tensorflow();
    // Dense 784 → 10 whose class k reads pixel k only: the prediction is the brightest of the first ten pixels.
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [784], units: 10, useBias: false, kernelInitializer: 'zeros' })],
    });
    const kernel = new Float32Array(784 * 10);
    for (let k = 0; k < 10; k++) kernel[k * 10 + k] = 1;
    model.layers[0]!.setWeights([tf.tensor2d(kernel, [784, 10])]);
    const qsl = new ImageQsl('digits', images(300), 300);
    const sut = new TfjsModelSut({ model, qsl, maxBatch: 64 });
    try {
      const accuracy = await run({ scenario: 'Offline', mode: 'AccuracyOnly' }, sut, qsl);
      expect(accuracy.summary.samples).toBe(300);
      expect(accuracy.summary.accuracy).toBe(1);
      const perf = await run({ scenario: 'Offline', expectedQps: 1000, minDurationMs: 300 }, sut, qsl);
      expect(perf.summary.samples).toBe(330); // 1.1 × 0.3 s × 1,000
      expect(perf.summary.samplesFailed).toBe(0);
      expect(perf.summary.samplesPerSecond).toBeGreaterThan(0);
      const server = await run({ scenario: 'Server', targetQps: 200, minDurationMs: 300 }, sut, qsl);
      expect(server.summary.samplesFailed).toBe(0);
      expect(server.summary.samples).toBe(server.summary.queriesIssued);
    } finally {
      await sut.close();
      model.dispose();
    }
  });
});

describe('OIP-v2 HTTP SUT (undici) against the fixed-delay server', () => {
  let server: FixedDelayServer;
  beforeAll(async () => {
    server = await startFixedDelayServer({ delayMs: 2, concurrency: 8 });
  });
  afterAll(async () => {
    await server.close();
  });

  it('Server: every query answered once over keep-alive connections; latency at least the delay', async () => {
    const qsl = new ImageQsl('digits', images(64));
    const sut = new HttpOipSut({ url: server.url, model: 'mnist-classifier', qsl });
    const before = server.answered();
    try {
      const { summary } = await run({ scenario: 'Server', targetQps: 300, minDurationMs: 500 }, sut, qsl);
      expect(summary.samplesFailed).toBe(0);
      expect(server.answered() - before).toBe(summary.queriesIssued);
      // the server's 2 ms is a setTimeout counted from libuv's cached loop time: at least ~1 ms in fact
      expect(summary.latency.minNs).toBeGreaterThanOrEqual(1e6);
      expect(summary.latency.percentilesNs['50.00']).toBeGreaterThanOrEqual(1.5e6);
    } finally {
      await sut.close();
    }
  });

  it('accuracy mode reads the labels; Offline sends batches of batchSize', async () => {
    const qsl = new ImageQsl('digits', images(100));
    const sut = new HttpOipSut({ url: server.url, model: 'm', qsl, labels: true, batchSize: 16 });
    const before = server.answered();
    try {
      const { result, summary } = await run({ scenario: 'Offline', mode: 'AccuracyOnly' }, sut, qsl);
      expect(summary.samples).toBe(100);
      expect(server.answered() - before).toBe(7); // ceil(100 / 16) requests
      expect(result.log.label?.every((l) => l === 0)).toBe(true); // the fixed-delay server answers 0
      expect(summary.accuracy).toBeCloseTo(0.1, 10); // the ten images labelled 0
    } finally {
      await sut.close();
    }
  });

  it('failures count with their status and message; an unreachable server fails every sample', async () => {
    const qsl = new ImageQsl('digits', images(16));
    const wrongPath = new HttpOipSut({ url: `${server.url}/not-here`, model: 'm', qsl });
    try {
      const { summary } = await run({ scenario: 'SingleStream', minDurationMs: 50, minQueryCount: 5 }, wrongPath, qsl);
      expect(summary.samplesFailed).toBe(summary.samples);
      expect(Object.keys(summary.errors)).toEqual(['404: not found']);
      expect(summary.result).toBe('INVALID');
    } finally {
      await wrongPath.close();
    }
    const closed = await startFixedDelayServer({ delayMs: 0 });
    const url = closed.url;
    await closed.close();
    const unreachable = new HttpOipSut({ url, model: 'm', qsl });
    try {
      const { summary } = await run(
        { scenario: 'SingleStream', minDurationMs: 50, minQueryCount: 5 },
        unreachable,
        qsl,
      );
      expect(summary.samplesFailed).toBe(summary.samples);
      expect(Object.keys(summary.errors)[0]).toMatch(/^0: .*ECONNREFUSED|^0: connect/);
    } finally {
      await unreachable.close();
    }
  });
});
