/**
 * Bad platform input, one named row per case: every adapter refuses it before acting, with a
 * non-retryable InvalidSpec failure whose message names the field to fix.
 */
import { describe, expect, it } from '@jest/globals';
import type {
  AutoscalingUpdate,
  BatchWorkflowSpec,
  ContainerUpgrade,
  OnlineWorkflowSpec,
  ServiceSpec,
} from '../../../src/platform/types.js';
import {
  validateAutoscalingUpdate,
  validateBatch,
  validateOnline,
  validateReplicaCount,
  validateService,
  validateUpgrade,
} from '../../../src/platform/validate.js';

const service: ServiceSpec = { name: 'model', image: 'scanflow/model-server:0.1.0', port: 8080, replicas: 2 };
const online: OnlineWorkflowSpec = { app: 'mnist', workflow: 'serving', services: [service] };
const batch: BatchWorkflowSpec = {
  app: 'mnist',
  workflow: 'train',
  executors: [
    { name: 'prepare', image: 'busybox' },
    { name: 'fit', image: 'busybox', dependsOn: ['prepare'] },
  ],
};

/** Runs `check` and returns the failure it threw (or fails the test when it accepted the input). */
function failureOf(check: () => unknown): { message: string; type?: string; nonRetryable?: boolean } {
  try {
    check();
  } catch (err) {
    return err as { message: string; type?: string; nonRetryable?: boolean };
  }
  throw new Error('the input was accepted');
}

function expectRefused(check: () => unknown, field: string): void {
  const failure = failureOf(check);
  expect(failure).toMatchObject({ type: 'InvalidSpec', nonRetryable: true });
  expect(failure.message).toContain(field);
}

describe('valid specs pass', () => {
  it('accepts the reference specs', () => {
    expect(() => validateService(service, 'service')).not.toThrow();
    expect(() => validateOnline({ ...online, backup: { ...service, name: 'backup' } })).not.toThrow();
    expect(validateBatch(batch)).toEqual(['prepare', 'fit']);
  });
});

describe('ServiceSpec', () => {
  it.each<[string, Partial<ServiceSpec> & Record<string, unknown>, string]>([
    ['name not a DNS label', { name: 'Model_1' }, 'service.name'],
    ['name longer than 22 characters', { name: 'a-very-long-service-name' }, 'service.name'],
    ['image missing', { image: '' }, '.image is required'],
    ['port 0', { port: 0 }, '.port must be an integer 1-65535'],
    ['port above 65535', { port: 70000 }, '.port must be an integer 1-65535'],
    ['port not an integer', { port: 80.5 }, '.port'],
    ['replicas negative', { replicas: -1 }, '.replicas must be an integer >= 0'],
    ['replicas fractional', { replicas: 1.5 }, '.replicas must be an integer >= 0'],
    ['cpu request not a quantity', { resources: { requests: { cpu: 'lots' } } }, 'service.resources.requests.cpu'],
    ['memory limit not a quantity', { resources: { limits: { memory: '1 GB' } } }, 'service.resources.limits.memory'],
    [
      'autoscaling min above max',
      { autoscaling: { kind: 'hpa', minReplicas: 3, maxReplicas: 2, cpuUtilization: 50 } },
      '.autoscaling',
    ],
    [
      'HPA with minReplicas 0',
      { autoscaling: { kind: 'hpa', minReplicas: 0, maxReplicas: 2, cpuUtilization: 50 } },
      '.autoscaling.minReplicas must be >= 1',
    ],
  ])('%s', (_case, change, field) => {
    expectRefused(() => validateService({ ...service, ...change } as ServiceSpec, 'service'), field);
  });
});

describe('OnlineWorkflowSpec', () => {
  it.each<[string, OnlineWorkflowSpec, string]>([
    ['app not a DNS label', { ...online, app: 'MNIST' }, 'app'],
    ['workflow longer than 40 characters', { ...online, workflow: 'w'.repeat(41) }, 'workflow'],
    ['no services', { ...online, services: [] }, 'services must be a non-empty list'],
    [
      'a bad service names its index',
      { ...online, services: [service, { ...service, name: 'b', port: -1 }] },
      'services[1]',
    ],
    [
      'two services with one name',
      { ...online, services: [service, service] },
      "services[1].name 'model' is used twice",
    ],
    ['backup named like a service', { ...online, backup: service }, "backup.name 'model' is used twice"],
    ['a bad backup', { ...online, backup: { ...service, name: 'backup', image: '' } }, 'backup'],
    ['traffic to an unknown service', { ...online, traffic: { active: 'nope' } }, "traffic.active 'nope'"],
    [
      'weights naming an unknown service',
      { ...online, traffic: { weights: { model: 50, nope: 50 } } },
      'traffic.weights.nope',
    ],
    ['a weight above 100', { ...online, traffic: { weights: { model: 101 } } }, 'traffic.weights.model'],
    [
      'weights not summing to 100',
      { ...online, traffic: { weights: { model: 90 } } },
      'traffic.weights must sum to 100',
    ],
    [
      'empty weights',
      { ...online, traffic: { weights: {} } },
      'traffic needs either active or a non-empty weights map',
    ],
  ])('%s', (_case, spec, field) => {
    expectRefused(() => validateOnline(spec), field);
  });
});

describe('BatchWorkflowSpec', () => {
  const [prepare, fit] = batch.executors as [BatchWorkflowSpec['executors'][0], BatchWorkflowSpec['executors'][0]];
  it.each<[string, BatchWorkflowSpec, string]>([
    ['app not a DNS label', { ...batch, app: 'Mnist' }, 'app'],
    ['no executors', { ...batch, executors: [] }, 'executors must be a non-empty list'],
    ['executor name not a DNS label', { ...batch, executors: [{ ...prepare, name: 'Bad_Name' }] }, 'executors[0].name'],
    [
      'two executors with one name',
      { ...batch, executors: [prepare, { ...fit, name: 'prepare' }] },
      'executors[1].name',
    ],
    ['executor without image', { ...batch, executors: [{ ...prepare, image: '' }] }, "executors[0] ('prepare').image"],
    [
      'resources not a quantity',
      { ...batch, executors: [{ ...prepare, resources: { limits: { cpu: 'two' } } }] },
      'executors[0].resources.limits.cpu',
    ],
    [
      'dependency on an unknown executor',
      { ...batch, executors: [prepare, { ...fit, dependsOn: ['zz'] }] },
      "executors[1] ('fit').dependsOn",
    ],
    [
      'a dependency cycle',
      { ...batch, executors: [{ ...prepare, dependsOn: ['fit'] }, fit] },
      'dependsOn has a cycle among prepare, fit',
    ],
    [
      'Job name over 63 characters',
      { ...batch, workflow: 'w'.repeat(40), executors: [{ ...prepare, name: 'e'.repeat(30) }] },
      'executors[0]: Job name',
    ],
  ])('%s', (_case, spec, field) => {
    expectRefused(() => validateBatch(spec), field);
  });
});

describe('updates', () => {
  it.each<[string, unknown, string]>([
    ['an empty upgrade', {}, 'change: give at least one of image, command, args, env'],
    ['an empty image', { image: '' }, 'change.image'],
    ['command not a list of strings', { command: 'serve' }, 'change.command'],
    ['args with a number', { args: ['--port', 8080] }, 'change.args'],
    ['env as a list', { env: ['A=1'] }, 'change.env must be an object'],
    ['env value null', { env: { SCANFLOW_MODEL_VERSION: null } }, 'change.env.SCANFLOW_MODEL_VERSION'],
    ['env value an object', { env: { SCANFLOW_MODEL_VERSION: { $ref: 'x' } } }, 'change.env.SCANFLOW_MODEL_VERSION'],
    ['env value not finite', { env: { N: Number.NaN } }, 'change.env.N'],
    ['env name with a space', { env: { 'MY VAR': '1' } }, "change.env: 'MY VAR'"],
  ])('upgrade: %s', (_case, change, field) => {
    expectRefused(() => validateUpgrade(change as ContainerUpgrade), field);
  });

  it('upgrade: writes a number in env as its decimal text', () => {
    expect(validateUpgrade({ env: { SCANFLOW_MODEL_VERSION: 3, NOTE: 'x' } }).env).toEqual({
      SCANFLOW_MODEL_VERSION: '3',
      NOTE: 'x',
    });
  });

  it.each<[string, AutoscalingUpdate, string]>([
    ['negative minReplicas', { minReplicas: -1 }, 'change.minReplicas'],
    ['fractional maxReplicas', { maxReplicas: 2.5 }, 'change.maxReplicas'],
    ['threshold 0', { threshold: 0 }, 'change.threshold must be > 0'],
    ['negative threshold', { threshold: -5 }, 'change.threshold must be > 0'],
  ])('autoscaling: %s', (_case, change, field) => {
    expectRefused(() => validateAutoscalingUpdate(change), field);
  });

  it.each<[string, number]>([
    ['negative', -1],
    ['fractional', 1.5],
    ['not a number', Number.NaN],
  ])('replica count: %s', (_case, replicas) => {
    expectRefused(() => validateReplicaCount(replicas), 'replicas must be an integer >= 0');
  });
});
