/**
 * Traffic as a Temporal activity: replay image sets stored in the knowledge base (the drifting
 * stream's batches, written by the ML activities' generateTrafficBatch) against the model server
 * or the local router. Only keys and the small report cross Temporal; images stay in the store.
 * The prediction log (written by the server) is where the predictions themselves end up.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { asActivity, beat } from './support.js';
import type { KnowledgeStore } from '../knowledge/types.js';
import { storedImageSetsSource } from '../traffic/sources.js';
import { runTraffic, type TrafficReport } from '../traffic/traffic-client.js';

export interface ReplayTrafficInput {
  /** Model server or local router, e.g. LocalPlatform.endpoint(ref). */
  url: string;
  model: string;
  /** Image sets to send, in order, each image once. */
  datasetKeys: string[];
  ratePerSecond?: number;
  concurrency?: number;
  imagesPerRequest?: number;
  /** Give up on a request after this long (default 30 s). */
  timeoutMs?: number;
}

function cancellation(): AbortSignal {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return new AbortController().signal; // called directly (tests, scripts): never cancelled
  }
}

export function createTrafficActivities(deps: { store: KnowledgeStore }) {
  return {
    /** Heartbeats every 50 answers with the counts so far (set heartbeatTimeout accordingly). */
    async replayTraffic(input: ReplayTrafficInput): Promise<TrafficReport> {
      return asActivity('replayTraffic', async () => {
        if (!Array.isArray(input?.datasetKeys) || input.datasetKeys.length === 0) {
          throw ApplicationFailure.nonRetryable(
            'replayTraffic: datasetKeys must be a non-empty list of image-set keys',
            'InvalidInput',
          );
        }
        let answered = 0;
        let failed = 0;
        try {
          return await runTraffic({
            url: input.url,
            model: input.model,
            source: storedImageSetsSource(deps.store, input.datasetKeys),
            ratePerSecond: input.ratePerSecond,
            concurrency: input.concurrency,
            imagesPerRequest: input.imagesPerRequest,
            timeoutMs: input.timeoutMs,
            signal: cancellation(),
            onResult: (r) => {
              answered += 1;
              if (!r.ok) failed += 1;
              if (answered % 50 === 0) beat({ answered, failed });
            },
          });
        } catch (err) {
          // Options that make no sense cannot succeed on a retry.
          if (err instanceof Error && err.message.startsWith('traffic.'))
            throw ApplicationFailure.nonRetryable(`replayTraffic: ${err.message}`, 'InvalidInput');
          throw err;
        }
      });
    },
  };
}

export type TrafficActivities = ReturnType<typeof createTrafficActivities>;
