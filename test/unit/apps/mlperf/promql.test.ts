import { describe, expect, it } from '@jest/globals';
import {
  checkSelector,
  cpuPerPodQueries,
  latencyQuantileQuery,
  PromqlInputError,
  queriesPerReplicaQueries,
} from '../../../../src/activities/metrics/promql.js';

describe('the sensors’ PromQL', () => {
  it('uses the model server’s and cAdvisor’s metric names', () => {
    expect(queriesPerReplicaQueries('job="online"', '30s').average).toBe(
      'avg(sum by (instance) (rate(scanflow_inference_requests_total{job="online"}[30s])) or on (instance) (0 * sum by (instance) (up{job="online"} == 1)))',
    );
    expect(latencyQuantileQuery('job="online"', '1m')).toBe(
      'histogram_quantile(0.99, sum by (le) (rate(scanflow_inference_request_duration_seconds_bucket{job="online"}[1m])))',
    );
    expect(cpuPerPodQueries('namespace="ns",pod=~"batch-.*"', '1m').rate).toBe(
      'sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{namespace="ns",pod=~"batch-.*",container!="",container!="POD"}[1m]))' +
        ' or sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{namespace="ns",pod=~"batch-.*",container=""}[1m]))',
    );
  });

  it('accepts label matchers only, so a spec cannot splice PromQL into a query', () => {
    expect(checkSelector('a="x, y",b=~"p|q" , c!="}"')).toBe('a="x, y",b=~"p|q",c!="}"');
    expect(checkSelector('')).toBe('');
    for (const bad of ['job="x"}) or vector(1', 'job=x', '1a="x"', 'job="x" or up', 'job="unterminated'])
      expect(() => checkSelector(bad)).toThrow(PromqlInputError);
    expect(() => latencyQuantileQuery('', '1 m')).toThrow(/window/);
    expect(() => latencyQuantileQuery('', '1m', 1.5)).toThrow(/quantile/);
  });
});
