/**
 * The MNIST case study on Kubernetes: the same steps as on the local platform (case-study.ts),
 * with the model server as a Deployment + Service of the project's image, deployed by the
 * `deployWorkflow` primitive (run by the platform worker in its pod), reading the registry and
 * writing the prediction log on the S3 server, and reached through the workflow's entry Service
 * (ClusterIP, kube-proxy) from this host.
 *
 * What the platform's generic Deployment lacks for a rolling update without a failed request is
 * added under a field manager of its own (server-side apply: the primitives' fields stay theirs,
 * and the executor's later upgrade, which applies only the env, leaves these alone):
 *   - a liveness probe (the readiness probe comes from the spec's readinessPath);
 *   - a preStop sleep, so that an old pod leaves the Service's endpoints (and kube-proxy's rules)
 *     before it is sent SIGTERM, and a grace period for the server to answer what it has received.
 */
import { MnistCaseStudy, type CaseStudyEnv } from '../case-study.js';
import type { DemoOptions } from '../demo-options.js';
import { CLASSIFIER_MODEL, SERVING_REF, SERVING_SERVICE } from '../names.js';
import { TaskQueues } from '../../../agents/conventions.js';
import { serviceObjectName } from '../../../platform/names.js';
import type { OnlineWorkflowSpec } from '../../../platform/types.js';
import { CONTAINER } from '../../../platform/kubernetes/manifests.js';
import { MODEL_ADMIN_ANNOTATION } from '../../../serving/service-spec.js';
import { storeForService } from '../../../serving/store-config.js';
import { waitFor } from '../../../stack/wait.js';
import { MODEL_VERSION_ENV } from '../../../serving/model-version.js';
import type { KubernetesStack } from './stack.js';
import { applyObjects } from './workers.js';

const PORT = 8080;
/** Field manager of the serving additions (probes, preStop); not the platform's `scanflow`. */
export const SERVING_EXTRAS_MANAGER = 'scanflow-demo-serving';

export interface KubernetesCaseStudyOptions {
  /** Model-server pods (default 2: one per node with preferred anti-affinity). */
  replicas?: number;
}

export class KubernetesMnistCaseStudy extends MnistCaseStudy {
  private entryUrl?: string;

  constructor(
    env: Omit<CaseStudyEnv, 'storeConfig' | 'localPlatform'>,
    options: DemoOptions,
    readonly stack: KubernetesStack,
    readonly k8s: KubernetesCaseStudyOptions = {},
  ) {
    super({ ...env, storeConfig: stack.storeConfig }, options);
  }

  get deploymentName(): string {
    return serviceObjectName(SERVING_REF, SERVING_SERVICE);
  }

  override modelServerSpec(): OnlineWorkflowSpec {
    const { arg, env, secretEnv } = storeForService(this.env.storeConfig);
    const labels = { app: SERVING_REF.app, workflow: SERVING_REF.workflow, 'scanflow.io/component': SERVING_SERVICE };
    return {
      ...SERVING_REF,
      services: [
        {
          name: SERVING_SERVICE,
          image: this.stack.image,
          port: PORT,
          replicas: this.k8s.replicas ?? 2,
          args: [
            'serve',
            '--store',
            arg,
            '--model',
            CLASSIFIER_MODEL,
            '--host',
            '0.0.0.0',
            '--port',
            String(PORT),
            '--log-flush-ms',
            '500',
            '--log-batch',
            '200',
          ],
          env: { ...env, [MODEL_VERSION_ENV]: '1' },
          secretEnv,
          readinessPath: '/v2/health/ready',
          resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
          affinity: { antiAffinity: [{ matchLabels: labels, mode: 'preferred', weight: 100 }] },
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(PORT),
            'prometheus.io/path': '/metrics',
            [MODEL_ADMIN_ANNOTATION]: '/admin/model',
          },
        },
      ],
    };
  }

  /** deployWorkflow as a platform primitive (the in-pod platform worker runs it), then the serving additions; waits until the entry Service answers. */
  override async deploy(): Promise<string> {
    await this.env.client.workflow.execute('platformOperationWorkflow', {
      taskQueue: TaskQueues.agents,
      workflowId: `scanflow.mnist.deploy.${this.env.runId}`,
      args: [{ primitive: 'deployWorkflow', args: this.modelServerSpec() }],
    });
    const { kc, core, apps, namespace } = this.stack;
    await applyObjects(kc, [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: this.deploymentName, namespace },
        spec: {
          template: {
            spec: {
              terminationGracePeriodSeconds: 30,
              containers: [
                {
                  name: CONTAINER,
                  livenessProbe: {
                    httpGet: { path: '/v2/health/live', port: PORT },
                    initialDelaySeconds: 20,
                    periodSeconds: 10,
                    failureThreshold: 3,
                  },
                  lifecycle: { preStop: { sleep: { seconds: 5 } } },
                },
              ],
            },
          },
        },
      } as never,
    ]);
    await waitFor('the model server rolled out and Ready', 300_000, async () => {
      const d = await apps.readNamespacedDeployment({ name: this.deploymentName, namespace });
      const want = d.spec?.replicas ?? 1;
      const s = d.status ?? {};
      return (
        (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
        s.updatedReplicas === want &&
        s.availableReplicas === want &&
        s.replicas === want
      );
    });
    const svc = await core.readNamespacedService({ name: SERVING_REF.workflow, namespace });
    this.entryUrl = `http://${svc.spec?.clusterIP}:${PORT}`;
    await waitFor('the entry Service to answer', 60_000, async () => {
      const r = await fetch(`${this.entryUrl}/v2/health/ready`, { signal: AbortSignal.timeout(2_000) });
      return r.ok;
    });
    return this.entryUrl;
  }

  override get endpoint(): string {
    if (!this.entryUrl) throw new Error('the model server is not deployed yet (call deploy() first)');
    return this.entryUrl;
  }
}
