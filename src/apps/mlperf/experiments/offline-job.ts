/**
 * The batch inference workload of the anti-affinity experiment, run inside the batch Job's pod
 * (`script src/apps/mlperf/experiments/offline-job.ts --seconds S`): MLPerf LoadGen's Offline
 * scenario against the MNIST classifier's network in the process (native TensorFlow, the tfjs SUT),
 * round after round, each round sized from the last one's throughput to last ~`--round` seconds.
 * One JSON line per round on stdout ({"at", "samples", "seconds", "samplesPerSecond"}), read back
 * by the experiment from the pod's log.
 *
 * The weights are freshly initialised (the pod has no model store): Offline throughput depends on
 * the network's shape, not on its weights.
 */
import { parseArgs } from 'node:util';
import { buildClassifier } from '../../../ml/classifier.js';
import { Rng } from '../../../ml/random.js';
import { ImageQsl } from '../../../loadgen/qsl.js';
import { runLoadgen } from '../../../loadgen/run.js';
import { resolveSettings } from '../../../loadgen/settings.js';
import { TfjsModelSut } from '../../../loadgen/suts/tfjs-model.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '600' }, round: { type: 'string', default: '5' } },
  strict: true,
});
const total = Number(values.seconds);
const round = Number(values.round);
if (!(total > 0) || !(round > 0))
  throw new Error(`--seconds and --round must be numbers > 0, got ${values.seconds}, ${values.round}`);

const count = 1024;
const rng = new Rng(5);
const pixels = new Float32Array(count * 784);
for (let i = 0; i < pixels.length; i++) pixels[i] = rng.next();
const qsl = new ImageQsl('random-mnist-shaped', { count, height: 28, width: 28, pixels });
const model = buildClassifier(7);
const sut = new TfjsModelSut({ model, qsl, maxBatch: 64 });

const end = Date.now() + total * 1000;
let expectedQps = 200;
while (Date.now() < end) {
  const settings = resolveSettings({
    scenario: 'Offline',
    expectedQps,
    minDurationMs: round * 1000,
    minQueryCount: 1,
  });
  const t = performance.now();
  const r = await runLoadgen({ settings, sut, qsl });
  const seconds = (performance.now() - t) / 1000;
  const samples = r.log.ok.reduce<number>((n, x) => n + x, 0);
  const samplesPerSecond = samples / seconds;
  console.log(
    JSON.stringify({
      at: Date.now(),
      samples,
      seconds: Math.round(seconds * 1000) / 1000,
      samplesPerSecond: Math.round(samplesPerSecond),
    }),
  );
  // The next round at this throughput lasts ~round seconds (LoadGen sizes it 1.1 × round × expected).
  expectedQps = Math.max(10, samplesPerSecond / 1.1);
}
await sut.close();
model.dispose();
