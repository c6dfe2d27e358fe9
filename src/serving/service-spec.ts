/**
 * The model server as a service of an online workflow, for either platform: configured only
 * through environment variables (main.ts reads them), so the same ServiceSpec deploys on the
 * local platform (which sets the port) and on Kubernetes (where S3 credentials would better come
 * from a Secret, as in deploy/serving/model-server.yaml).
 */
import type { KnowledgeStoreConfig } from '../knowledge/types.js';
import type { ServiceSpec } from '../platform/types.js';
import { MODEL_VERSION_ENV, type VersionChoice } from './model-version.js';
import { storeForService } from './store-config.js';

export const MODEL_SERVER_IMAGE = 'scanflow/model-server';
/** Annotation naming the admin path for in-place model-version switches (the local platform uses it). */
export const MODEL_ADMIN_ANNOTATION = 'scanflow.io/model-admin-path';

export interface ModelServerServiceOptions {
  /** Service name (DNS label), e.g. 'model-server' or 'backup'. */
  name: string;
  store: KnowledgeStoreConfig;
  /** Registry model name, also the served name. */
  model: string;
  replicas: number;
  /** Version to serve at start (default the registry's production version). */
  version?: VersionChoice;
  /** Image tag on Kubernetes (default scanflow/model-server:0.1.0); the local platform maps the name to main.ts. */
  image?: string;
  /** 0.0.0.0 in a container (default), 127.0.0.1 on the local platform. */
  host?: string;
  port?: number;
  /** Prediction log flush interval (ms, default 2000) and dynamic batching bound (ms, default 2). */
  logFlushMs?: number;
  maxWaitMs?: number;
  extraEnv?: Record<string, string>;
}

export function modelServerService(o: ModelServerServiceOptions): ServiceSpec {
  const store = storeForService(o.store);
  const port = o.port ?? 8080;
  return {
    name: o.name,
    image: o.image ?? `${MODEL_SERVER_IMAGE}:0.1.0`,
    port,
    replicas: o.replicas,
    env: {
      ...store.env,
      SCANFLOW_STORE: store.arg,
      SCANFLOW_MODEL: o.model,
      [MODEL_VERSION_ENV]: String(o.version ?? 'production'),
      SCANFLOW_SERVING_HOST: o.host ?? '0.0.0.0',
      SCANFLOW_SERVING_PORT: String(port),
      ...o.extraEnv,
    },
    ...(Object.keys(store.secretEnv).length ? { secretEnv: store.secretEnv } : {}),
    args: ['--log-flush-ms', String(o.logFlushMs ?? 2000), '--max-wait-ms', String(o.maxWaitMs ?? 2)],
    readinessPath: '/v2/health/ready',
    annotations: {
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(port),
      'prometheus.io/path': '/metrics',
      [MODEL_ADMIN_ANNOTATION]: '/admin/model',
    },
  };
}
