/**
 * The autoscaling experiment's hold on the model server's autoscaler (experiments/service-autoscaler.ts)
 * against the harness's control plane: the scale-down window goes on the HPA (hpa-cpu) or on the
 * ScaledObject's field for the HPA KEDA owns (keda-qps), survives the platform's own re-applies
 * and threshold updates (another field manager), and the HPA's threshold is read back.
 *
 * The local control plane alone runs no KEDA operator, so for keda-qps the test then writes the
 * HPA keda-hpa-<name> as KEDA writes it (an External metric with an AverageValue quantity,
 * "6667m"): what is under test is the reading of that object. When the harness also runs the
 * real-node cluster (the `nodes` component: CI runs everything), the same API server has KEDA's
 * operator, which writes that HPA itself and would revert ours: the test then reads what KEDA
 * wrote, through a threshold change of the platform's own primitive.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { AutoscalingV2Api, CustomObjectsApi } from '@kubernetes/client-node';
import { ServiceAutoscaler } from '../../../src/apps/mlperf/experiments/service-autoscaler.js';
import { MODEL_SERVER_SERVICE } from '../../../src/apps/mlperf/names.js';
import { onlineInferenceWorkflow } from '../../../src/apps/mlperf/workloads.js';
import { serviceObjectName } from '../../../src/platform/names.js';
import { waitFor } from '../../../src/stack/wait.js';
import { adminPlatform, freshNamespace, testCluster } from '../../kubernetes/cluster.js';

const c = testCluster();
/** KEDA's operator runs against the harness's API server only with the real-node cluster. */
const kedaOperatorRuns = (process.env.SCANFLOW_TEST_COMPONENTS ?? '').split(',').includes('nodes');
const store = { kind: 'local' as const, directory: '/store' };

describe('ServiceAutoscaler (the experiment’s scale-down window and HPA reading) on the local control plane', () => {
  let hpas: AutoscalingV2Api;
  let custom: CustomObjectsApi;

  beforeAll(() => {
    hpas = c.kc.makeApiClient(AutoscalingV2Api);
    custom = c.kc.makeApiClient(CustomObjectsApi);
  });

  it('hpa-cpu: sets the window on the HPA, keeps it through the platform’s threshold update, reads the threshold', async () => {
    const ns = await freshNamespace(c, 'mlperf-hpa');
    const platform = adminPlatform(c, ns);
    const spec = onlineInferenceWorkflow({
      workflow: 'hpa',
      store,
      backup: false,
      autoscaling: { kind: 'hpa', cpuUtilization: 50, minReplicas: 1, maxReplicas: 4 },
    });
    await platform.deployWorkflow(spec);
    const name = serviceObjectName(spec, MODEL_SERVER_SERVICE);
    const autoscaler = new ServiceAutoscaler({ kubeconfig: c.kubeconfigPath, namespace: ns }, name);

    await autoscaler.setScaleDownWindow('hpa-cpu', 30);
    await autoscaler.setScaleDownWindow('hpa-cpu', 30); // idempotent
    const window = async () =>
      (await hpas.readNamespacedHorizontalPodAutoscaler({ name, namespace: ns })).spec?.behavior?.scaleDown
        ?.stabilizationWindowSeconds;
    expect(await window()).toBe(30);
    expect((await autoscaler.read('hpa-cpu')).threshold).toBe(50);

    // The platform re-applies the whole workflow, then the tuner's primitive moves the threshold.
    await platform.deployWorkflow(spec);
    await platform.updateWorkflowReplica(spec, MODEL_SERVER_SERVICE, { threshold: 70 });
    const reading = await autoscaler.read('hpa-cpu');
    expect(reading.threshold).toBe(70);
    expect(Number.isInteger(reading.desired) && reading.desired >= 0).toBe(true);
    expect(await window()).toBe(30);
    const h = await hpas.readNamespacedHorizontalPodAutoscaler({ name, namespace: ns });
    expect([h.spec?.minReplicas, h.spec?.maxReplicas]).toEqual([1, 4]);

    // No KEDA HPA for this service: the reading fails (the trace skips that sample).
    await expect(autoscaler.read('keda-qps')).rejects.toThrow();
  });

  it('keda-qps: sets the window in the ScaledObject’s advanced field, keeps the trigger, reads KEDA’s AverageValue', async () => {
    const ns = await freshNamespace(c, 'mlperf-keda-hpa');
    const platform = adminPlatform(c, ns);
    const spec = onlineInferenceWorkflow({
      workflow: 'keda',
      store,
      backup: false,
      autoscaling: {
        kind: 'keda',
        queriesPerReplica: 6.7,
        prometheus: 'http://prometheus.invalid:9090',
        minReplicas: 1,
        maxReplicas: 6,
      },
    });
    await platform.deployWorkflow(spec);
    const name = serviceObjectName(spec, MODEL_SERVER_SERVICE);
    const autoscaler = new ServiceAutoscaler({ kubeconfig: c.kubeconfigPath, namespace: ns }, name);

    await autoscaler.setScaleDownWindow('keda-qps', 30);
    await platform.updateWorkflowReplica(spec, MODEL_SERVER_SERVICE, { threshold: 9 });
    const so = (await custom.getNamespacedCustomObject({
      group: 'keda.sh',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'scaledobjects',
      name,
    })) as {
      spec: {
        scaleTargetRef: { name: string; kind?: string };
        maxReplicaCount: number;
        triggers: Array<{ metadata: { threshold: string } }>;
        advanced?: {
          horizontalPodAutoscalerConfig?: { behavior?: { scaleDown?: { stabilizationWindowSeconds?: number } } };
        };
      };
    };
    expect(so.spec.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown?.stabilizationWindowSeconds).toBe(30);
    expect(so.spec.triggers[0]!.metadata.threshold).toBe('9');
    expect(so.spec.scaleTargetRef).toMatchObject({ name, kind: 'Deployment' });
    expect(so.spec.maxReplicaCount).toBe(6);
    // No HPA of its own: KEDA's operator would make keda-hpa-<name>, not the platform.
    await expect(hpas.readNamespacedHorizontalPodAutoscaler({ name, namespace: ns })).rejects.toThrow();

    if (kedaOperatorRuns) {
      // KEDA's own HPA: the threshold it carries, then a milli-quantity after the platform's update.
      const readsAs = (threshold: number) =>
        waitFor(`KEDA's HPA keda-hpa-${name} with threshold ${threshold}`, 60_000, async () => {
          const reading = await autoscaler.read('keda-qps');
          return reading.threshold === threshold ? reading : false;
        });
      await readsAs(9);
      await platform.updateWorkflowReplica(spec, MODEL_SERVER_SERVICE, { threshold: 6.67 });
      await readsAs(6.67);
      const hpa = await hpas.readNamespacedHorizontalPodAutoscaler({ name: `keda-hpa-${name}`, namespace: ns });
      expect(hpa.spec?.behavior?.scaleDown?.stabilizationWindowSeconds).toBe(30);
      return;
    }
    // The HPA as KEDA writes it (see the header): its threshold as a milli-quantity.
    const kedaHpa = (averageValue: string) => ({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: `keda-hpa-${name}`, namespace: ns },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
        minReplicas: 1,
        maxReplicas: 6,
        metrics: [
          {
            type: 'External',
            external: {
              metric: { name: 's0-prometheus', selector: { matchLabels: { scaledobject: name } } },
              target: { type: 'AverageValue', averageValue: averageValue },
            },
          },
        ],
      },
    });
    await hpas.createNamespacedHorizontalPodAutoscaler({ namespace: ns, body: kedaHpa('6667m') });
    expect((await autoscaler.read('keda-qps')).threshold).toBe(6.67);
    await hpas.replaceNamespacedHorizontalPodAutoscaler({
      name: `keda-hpa-${name}`,
      namespace: ns,
      body: {
        ...kedaHpa('9'),
        metadata: {
          ...kedaHpa('9').metadata,
          resourceVersion: (
            await hpas.readNamespacedHorizontalPodAutoscaler({ name: `keda-hpa-${name}`, namespace: ns })
          ).metadata!.resourceVersion!,
        },
      },
    });
    expect((await autoscaler.read('keda-qps')).threshold).toBe(9);
  });
});
