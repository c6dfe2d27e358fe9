/**
 * Replays MNIST test digits (optionally drifting through MNIST-C corruptions) against a model
 * server or local router and prints the report:
 *
 *   npx tsx src/traffic/main.ts --url http://127.0.0.1:8080 --model mnist --rate 50 --concurrency 4 --duration-s 10
 *     [--images-per-request 1] [--version 3] [--seed 1]
 *     [--drift 0.5:shot_noise,fog]      share of each stream batch corrupted, and by which corruptions
 *     [--json]                          print the report as JSON
 */
import { parseArgs } from 'node:util';
import { CORRUPTIONS, isCorruptionName } from '../ml/corruptions.js';
import { DriftStream } from '../ml/drift-stream.js';
import { loadMnist } from '../ml/mnist.js';
import { driftStreamSource, loopingSource, type ImageSource } from './sources.js';
import { formatReport, runTraffic } from './traffic-client.js';

function num(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${JSON.stringify(value)}`);
  return n;
}

function driftSource(spec: string, seed: number): ImageSource {
  const [shareText = '', names = ''] = spec.split(':');
  const share = Number(shareText);
  if (!(share >= 0 && share <= 1))
    throw new Error(
      `--drift share must be in 0..1, got ${JSON.stringify(shareText)} (format share:corruption,corruption)`,
    );
  const corruptions = names.split(',').filter(Boolean);
  for (const c of corruptions)
    if (!isCorruptionName(c))
      throw new Error(`--drift: unknown corruption ${JSON.stringify(c)} (known: ${CORRUPTIONS.join(', ')})`);
  if (share > 0 && corruptions.length === 0) throw new Error('--drift needs at least one corruption after the colon');
  const stream = new DriftStream(
    {
      seed,
      batchSize: 100,
      source: loadMnist('test'),
      schedule: [{ fromBatch: 0, share, corruptions: corruptions.filter(isCorruptionName) }],
    },
    0,
  );
  return driftStreamSource(stream);
}

async function run(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      model: { type: 'string', default: 'mnist' },
      version: { type: 'string' },
      rate: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
      'duration-s': { type: 'string' },
      requests: { type: 'string' },
      'images-per-request': { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      drift: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.url) throw new Error('--url is required (the model server or local router, e.g. http://127.0.0.1:8080)');
  const seed = num('seed', values.seed) ?? 1;
  const source = values.drift ? driftSource(values.drift, seed) : loopingSource(loadMnist('test'));
  const duration = num('duration-s', values['duration-s']);
  const report = await runTraffic({
    url: values.url,
    model: values.model,
    ...(values.version ? { version: values.version } : {}),
    source,
    ratePerSecond: num('rate', values.rate),
    concurrency: num('concurrency', values.concurrency),
    imagesPerRequest: num('images-per-request', values['images-per-request']),
    maxRequests: num('requests', values.requests),
    durationMs: duration === undefined ? (values.requests ? undefined : 10_000) : duration * 1000,
  });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  if (report.failed > 0) process.exitCode = 2;
}

run().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
