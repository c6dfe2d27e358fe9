/**
 * A health check of the whole stack from inside a worker: runs a real computation on the
 * native TensorFlow backend and stores its result in the knowledge base (S3 or local
 * directory). `scanflow doctor` and the smoke test run it through Temporal.
 */
import { beat } from './support.js';
import { ApplicationFailure } from '@temporalio/common';
import { tensorflow, libtensorflowVersion } from '../ml/tf.js';
import type { KnowledgeStore } from '../knowledge/types.js';

export interface DiagnosticsInput {
  /** Knowledge-base key the report is written to. */
  key: string;
  /** Size of the square matrices multiplied on the native backend. */
  size: number;
}

export interface DiagnosticsReport {
  backend: string;
  tensorflowVersion: string;
  size: number;
  /** Sum of all entries of A·B for A = B = the size×size matrix of ones: size³. */
  checksum: number;
  millis: number;
  storedAt: string;
}

export function createDiagnosticsActivities(store: KnowledgeStore) {
  return {
    async runDiagnostics(input: DiagnosticsInput): Promise<DiagnosticsReport> {
      if (!Number.isInteger(input.size) || input.size < 1 || input.size > 4096) {
        throw ApplicationFailure.nonRetryable(`size must be an integer in 1..4096, got ${input.size}`, 'InvalidInput');
      }
      const tf = tensorflow();
      const started = performance.now();
      const checksum = tf.tidy(() => {
        const ones = tf.ones([input.size, input.size]);
        return tf.matMul(ones, ones).sum().dataSync()[0] ?? NaN;
      });
      beat();
      const report: DiagnosticsReport = {
        backend: tf.getBackend(),
        tensorflowVersion: libtensorflowVersion(),
        size: input.size,
        checksum,
        millis: performance.now() - started,
        storedAt: `${store.location}/${input.key}`,
      };
      await store.putJson(input.key, report);
      return report;
    },
  };
}
