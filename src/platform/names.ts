/**
 * Names and labels: the one place that decides what a workflow's objects are called, on every
 * platform. Kubernetes objects, local replicas and their Prometheus scrape jobs all derive their
 * names from here, so a name that is valid on one platform is valid on the other.
 */
import {
  LABEL_APP,
  LABEL_COMPONENT,
  LABEL_MANAGED_BY,
  LABEL_RUN,
  LABEL_WORKFLOW,
  MANAGED_BY,
  type WorkflowRef,
} from './types.js';
import { invalidSpec } from './errors.js';

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function checkDnsLabel(value: string, field: string, max = 63): void {
  if (!dnsLabel.test(value) || value.length > max) {
    throw invalidSpec(
      `${field} '${value}' must be a DNS label: lowercase letters, digits and '-', starting and ending alphanumeric, at most ${max} characters`,
    );
  }
}

export function checkRef(ref: WorkflowRef): void {
  checkDnsLabel(ref.app, 'app');
  checkDnsLabel(ref.workflow, 'workflow', 40);
}

/** A workflow's identity as one string, e.g. a map key ("mnist/serving"). */
export const workflowKey = (ref: WorkflowRef): string => `${ref.app}/${ref.workflow}`;

export function workflowLabels(ref: WorkflowRef): Record<string, string> {
  return { [LABEL_APP]: ref.app, [LABEL_WORKFLOW]: ref.workflow, [LABEL_MANAGED_BY]: MANAGED_BY };
}

export function componentLabels(ref: WorkflowRef, component: string): Record<string, string> {
  return { ...workflowLabels(ref), [LABEL_COMPONENT]: component };
}

export function selectorOf(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Deployment / Service / ScaledObject / HPA of one service. */
export const serviceObjectName = (ref: WorkflowRef, service: string): string => `${ref.workflow}-${service}`;
/** The ConfigMap holding a batch workflow's definition. */
export const batchDefinitionName = (ref: WorkflowRef): string => `scanflow-batch-${ref.workflow}`;
/** One local replica of a service: the service's object name and a sequence number. */
export const replicaName = (ref: WorkflowRef, service: string, seq: number): string =>
  `${serviceObjectName(ref, service)}-${seq}`;
/** The Prometheus scrape job of one service (its replicas are the targets). */
export const scrapeJobName = (ref: WorkflowRef, service: string): string => `${ref.app}-${ref.workflow}-${service}`;
export const jobName = (ref: WorkflowRef, runId: string, executor: string): string =>
  `${ref.workflow}-${runId}-${executor}`;

export function runLabels(ref: WorkflowRef, runId: string, executor: string): Record<string, string> {
  return { ...componentLabels(ref, executor), [LABEL_RUN]: runId };
}
