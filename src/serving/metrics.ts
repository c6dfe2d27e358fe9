/**
 * Prometheus metrics of one model server, on a registry of its own (several servers can live in
 * one process, as in tests). Names follow Prometheus conventions; the tracker agent and the
 * autoscaler read them through Prometheus.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ServingMetrics {
  readonly registry = new Registry();

  /** Infer requests answered, by HTTP status code. */
  readonly requests = new Counter({
    name: 'scanflow_inference_requests_total',
    help: 'Infer requests answered, by model and HTTP status code',
    labelNames: ['model', 'code'] as const,
    registers: [this.registry],
  });
  /** Failed infer requests, by reason (bad_request, unknown_model, model_error, not_ready). */
  readonly errors = new Counter({
    name: 'scanflow_inference_errors_total',
    help: 'Infer requests that failed, by reason',
    labelNames: ['model', 'reason'] as const,
    registers: [this.registry],
  });
  /** Images classified, by the version that classified them: the tracker's prediction count. */
  readonly predictions = new Counter({
    name: 'scanflow_predictions_total',
    help: 'Images classified, by model version',
    labelNames: ['model', 'version'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'scanflow_inference_request_duration_seconds',
    help: 'Infer request latency from the request arriving to the response written',
    labelNames: ['model'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'scanflow_inference_batch_size',
    help: 'Images per model call (dynamic batching)',
    labelNames: ['model'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers: [this.registry],
  });
  readonly batchRequests = new Histogram({
    name: 'scanflow_inference_batch_requests',
    help: 'Requests merged into one model call',
    labelNames: ['model'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [this.registry],
  });
  /** 1 for the version being served (the label carries the version string). */
  readonly versionInfo = new Gauge({
    name: 'scanflow_model_version_info',
    help: 'Model version being served (value 1)',
    labelNames: ['model', 'version'] as const,
    aggregator: 'max',
    registers: [this.registry],
  });
  /** The served version as a number when it is numeric (registry versions are), for graphs and alerts. */
  readonly version = new Gauge({
    name: 'scanflow_model_version',
    help: 'Numeric model version being served (-1 when none or not numeric)',
    labelNames: ['model'] as const,
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly switches = new Counter({
    name: 'scanflow_model_switches_total',
    help: 'Model version switches',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  /** Prediction records the prediction-log writer holds in memory, not yet in the store. */
  readonly logPending: Gauge;
  /** Read at scrape time: records the writer still buffers. */
  pendingLogRecords: () => number = () => 0;
  /** Prediction records handed to the prediction-log writer. */
  readonly logAppended = new Counter({
    name: 'scanflow_prediction_log_appended_total',
    help: 'Prediction records handed to the prediction-log writer',
    registers: [this.registry],
  });
  /** Prediction records dropped because the bounded queue was full (store down or too slow). */
  readonly logDropped = new Counter({
    name: 'scanflow_prediction_log_dropped_total',
    help: 'Prediction records dropped because the prediction-log queue was full (store unavailable or too slow)',
    registers: [this.registry],
  });
  /** Failed writes of a prediction-log batch (each retried with backoff). */
  readonly logWriteFailures = new Counter({
    name: 'scanflow_prediction_log_write_failures_total',
    help: 'Prediction-log batch writes that failed (retried with exponential backoff)',
    registers: [this.registry],
  });
  readonly modelLoadFailures = new Counter({
    name: 'scanflow_model_load_failures_total',
    help: 'Model versions that failed to load (the previous version kept serving)',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  constructor(defaultMetrics = true) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    this.logPending = new Gauge({
      name: 'scanflow_prediction_log_pending',
      help: 'Prediction records buffered by the prediction-log writer, not yet written to the store',
      registers: [this.registry],
      collect() {
        this.set(self.pendingLogRecords());
      },
    });
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  setVersion(model: string, version: string | undefined, previous: string | undefined): void {
    if (previous !== undefined) this.versionInfo.remove({ model, version: previous });
    if (version !== undefined) this.versionInfo.set({ model, version }, 1);
    const numeric = version !== undefined && /^\d+$/.test(version) ? Number(version) : -1;
    this.version.set({ model }, numeric);
    if (previous !== undefined && version !== undefined) this.switches.inc({ model });
  }
}
