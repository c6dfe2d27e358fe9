/**
 * A health check of the whole stack from inside a worker: runs a real computation on the
 * native TensorFlow backend and stores its result in the object store. `scanflow doctor`
 * and the smoke test run it through Temporal.
 */
import { heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Client as MinioClient } from 'minio';
import { tensorflow, libtensorflowVersion } from '../ml/tf.js';

export interface S3Endpoint {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
}

export interface DiagnosticsInput {
  bucket: string;
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

export function createDiagnosticsActivities(s3: S3Endpoint) {
  const minio = new MinioClient(s3);
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
      heartbeat();
      const report: DiagnosticsReport = {
        backend: tf.getBackend(),
        tensorflowVersion: libtensorflowVersion(),
        size: input.size,
        checksum,
        millis: performance.now() - started,
        storedAt: `s3://${input.bucket}/${input.key}`,
      };
      if (!(await minio.bucketExists(input.bucket))) {
        await minio.makeBucket(input.bucket).catch(async (err: unknown) => {
          // Another worker may have created it in between: only a real failure counts.
          if (!(await minio.bucketExists(input.bucket))) throw err;
        });
      }
      const body = Buffer.from(JSON.stringify(report));
      await minio.putObject(input.bucket, input.key, body, body.length, { 'Content-Type': 'application/json' });
      return report;
    },
  };
}
