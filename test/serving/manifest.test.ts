/**
 * deploy/serving/model-server.yaml is what runs the model server on Kubernetes. Two checks:
 * the real kube-apiserver accepts it and its Deployment makes pods the Service selects, and
 * src/serving/main.ts, started with exactly the container's command-line environment (secrets
 * and the downward API filled in), serves REST on the probed paths and gRPC on the declared port
 * (sample ids reaching the prediction log from both), drains and flushes its prediction log on SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  KubernetesObjectApi,
  loadAllYaml,
  type KubernetesObject,
  type V1Deployment,
  type V1Service,
} from '@kubernetes/client-node';
import { ManagedProcess, httpOk } from '../../src/stack/process.js';
import { freePort } from '../../src/stack/ports.js';
import { storeArgument } from '../../src/serving/store-config.js';
import { listPredictionBatches, readPredictionBatch } from '../../src/knowledge/prediction-log.js';
import { freshNamespace, testCluster, waitFor } from '../kubernetes/cluster.js';
import { images, s3Store, seededRegistry, uniqueS3StoreConfig } from './fixtures.js';
import { grpcClient } from './grpc-client.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const objects = loadAllYaml(
  readFileSync(join(repoRoot, 'deploy/serving/model-server.yaml'), 'utf8'),
) as KubernetesObject[];
const deployment = objects.find((o) => o.kind === 'Deployment') as V1Deployment;
const service = objects.find((o) => o.kind === 'Service') as V1Service;
const container = deployment.spec!.template.spec!.containers[0]!;
const envValue = (name: string) => container.env?.find((e) => e.name === name)?.value;

describe('deploy/serving/model-server.yaml', () => {
  it('is accepted by the API server and its Deployment creates pods that the Service selects', async () => {
    const c = testCluster();
    const namespace = await freshNamespace(c, 'serving-manifest');
    await c.core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'scanflow-s3' },
        stringData: { endpoint: 'http://minio:9000', 'access-key': 'a', 'secret-key': 'b' },
      },
    });
    const api = KubernetesObjectApi.makeApiClient(c.kc);
    for (const o of objects) await api.create({ ...o, metadata: { ...o.metadata, namespace } });
    const selector = Object.entries(service.spec!.selector!)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const pods = await waitFor('2 model-server pods', async () => {
      const list = await c.core.listNamespacedPod({ namespace, labelSelector: selector });
      return list.items.length === 2 ? list.items : undefined;
    });
    for (const pod of pods) {
      const spec = pod.spec!.containers[0]!;
      // The image's entry point (deploy/image/entrypoint.mjs) with its `serve` command.
      expect(spec.command).toBeUndefined();
      expect(spec.args).toEqual(['serve']);
      expect(spec.readinessProbe?.httpGet?.path).toBe('/v2/health/ready');
      expect(spec.env?.find((e) => e.name === 'SCANFLOW_MODEL_VERSION')?.value).toBe('production');
      expect(pod.metadata?.annotations?.['prometheus.io/path']).toBe('/metrics');
    }
    await c.core.deleteNamespace({ name: namespace });
  });

  it('declares the REST and gRPC ports on the container and the Service, and the process count', () => {
    expect(container.ports?.map((p) => [p.name, p.containerPort])).toEqual([
      ['http', Number(envValue('SCANFLOW_SERVING_PORT'))],
      ['grpc', Number(envValue('SCANFLOW_GRPC_PORT'))],
    ]);
    expect(service.spec!.ports!.map((p) => [p.name, p.port, p.targetPort])).toEqual([
      ['http', 8080, 'http'],
      ['grpc', 8081, 'grpc'],
    ]);
    expect(Number(envValue('SCANFLOW_SERVING_WORKERS'))).toBeGreaterThanOrEqual(1);
    // The probes stay on REST.
    expect(container.readinessProbe?.httpGet?.port).toBe('http');
    expect(container.livenessProbe?.httpGet?.port).toBe('http');
  });

  describe('its container environment, given to src/serving/main.ts', () => {
    const storeConfig = uniqueS3StoreConfig('manifest');
    let proc: ManagedProcess;
    let url: string;
    let grpcPort: number;
    const logFile = join(mkdtempSync(join(tmpdir(), 'scanflow-manifest-')), 'model-server.log');

    beforeAll(async () => {
      await seededRegistry(s3Store(storeConfig), 'mnist', 1);
      const { arg, env: s3 } = storeArgument(storeConfig);
      const secret: Record<string, string> = {
        endpoint: s3.SCANFLOW_S3_ENDPOINT!,
        'access-key': s3.SCANFLOW_S3_ACCESS_KEY!,
        'secret-key': s3.SCANFLOW_S3_SECRET_KEY!,
      };
      const env: Record<string, string> = {};
      for (const e of container.env ?? []) {
        if (e.value !== undefined) env[e.name] = e.value;
        else if (e.valueFrom?.secretKeyRef) env[e.name] = secret[e.valueFrom.secretKeyRef.key]!;
        else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = 'mnist-serving-model-server-abc12';
      }
      // Differences from the cluster, and only these: this test's bucket/prefix, loopback, free ports.
      const port = await freePort();
      grpcPort = await freePort();
      Object.assign(env, {
        SCANFLOW_STORE: arg,
        SCANFLOW_SERVING_HOST: '127.0.0.1',
        SCANFLOW_SERVING_PORT: String(port),
        SCANFLOW_GRPC_PORT: String(grpcPort),
      });
      url = `http://127.0.0.1:${port}`;
      const readiness = container.readinessProbe!.httpGet!.path!;
      proc = await ManagedProcess.start({
        name: 'model-server',
        command: process.execPath,
        args: ['--import', 'tsx', join(repoRoot, 'src/serving/main.ts')],
        cwd: repoRoot,
        env: { ...env, NODE_OPTIONS: '' },
        logFile,
        ready: () => httpOk(`${url}${readiness}`),
      });
    });
    afterAll(async () => {
      await proc?.stop();
    });

    it('serves the production version on the probed paths and over gRPC, then drains and flushes its prediction log on SIGTERM', async () => {
      expect((await fetch(`${url}${container.livenessProbe!.httpGet!.path!}`)).status).toBe(200);
      const res = await fetch(`${url}/v2/models/mnist/infer`, {
        method: 'POST',
        body: JSON.stringify({
          inputs: [{ name: 'images', shape: [3, 784], datatype: 'FP32', data: images(3) }],
          parameters: { sample_ids: ['m-0', 'm-1', 'm-2'] },
        }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { model_version: string }).model_version).toBe('1');
      const rpc = grpcClient(grpcPort);
      try {
        const answer = await rpc.call('ModelInfer')({
          model_name: 'mnist',
          inputs: [{ name: 'images', datatype: 'FP32', shape: [2, 784] }],
          raw_input_contents: [Buffer.from(new Float32Array(images(2)).buffer)],
          parameters: { sample_ids: { string_param: '["g-0","g-1"]' } },
        });
        expect(answer.model_version).toBe('1');
      } finally {
        rpc.close();
      }
      await proc.stop();
      expect(readFileSync(logFile, 'utf8')).toMatch(/SIGTERM: draining in-flight requests/);
      const store = s3Store(storeConfig);
      const keys = await listPredictionBatches(store, 'mnist');
      // The pod name (downward API) names the prediction-log objects of this replica.
      expect(keys.every((k) => k.includes('mnist-serving-model-server-abc12'))).toBe(true);
      const records = (await Promise.all(keys.map((k) => readPredictionBatch(store, k)))).flat();
      expect(records.map((r) => r.id).sort()).toEqual(['g-0', 'g-1', 'm-0', 'm-1', 'm-2']);
    });
  });
});
