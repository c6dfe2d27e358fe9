/**
 * Dataset generation for the case study: one batch of the seeded drifting stream, stored as an
 * image set with the true label of each image recorded for the labelling oracle.
 */
import { putImageSet } from '../../knowledge/image-set.js';
import { DriftStream } from '../../ml/drift-stream.js';
import { asActivity } from '../support.js';
import { resolveDataset } from './datasets.js';
import { recordTruth } from './label-oracle.js';
import type { MlModels } from './models.js';
import type { TrafficBatchActivities } from './types.js';

export function createTrafficBatchActivities(ml: Pick<MlModels, 'store'>): TrafficBatchActivities {
  const { store } = ml;
  return {
    async generateTrafficBatch(input) {
      return asActivity('generateTrafficBatch', async () => {
        const source = await resolveDataset(store, input.source ?? 'case-study:traffic');
        const stream = new DriftStream(
          { seed: input.seed, batchSize: input.batchSize, schedule: input.schedule, source },
          0,
        );
        const batch = stream.batch(input.batchIndex);
        const datasetKey =
          input.outputKey ?? `traffic/seed-${input.seed}/batch-${String(input.batchIndex).padStart(5, '0')}.sfimg`;
        const ids = batch.images.ids ?? [];
        // With the pixels' fingerprints: labelling joins a logged sample only if its pixels are these.
        await recordTruth(store, datasetKey, ids, stream.oracle.truthFor(ids), batch.images);
        await putImageSet(store, datasetKey, batch.images);
        const kinds: Record<string, number> = {};
        for (const k of batch.kinds) kinds[k] = (kinds[k] ?? 0) + 1;
        return { datasetKey, count: batch.images.count, kinds };
      });
    },
  };
}
