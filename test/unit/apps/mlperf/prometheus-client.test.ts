/** The Prometheus client's failure classification, against a scripted HTTP server on loopback. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusClient, prometheusSettingsFrom } from '../../../../src/activities/metrics/prometheus.js';

type Reply = { status: number; body?: unknown; headers?: Record<string, string>; hang?: boolean };

describe('PrometheusClient', () => {
  let server: Server;
  let url: string;
  const replies: Reply[] = [];
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push(`${req.url} ${body}`);
        const r = replies.shift() ?? { status: 500, body: 'none left' };
        if (r.hang) return;
        res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
        res.end(typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const client = (attempts = 3, timeoutMs = 2000) => new PrometheusClient({ url, attempts, timeoutMs, backoffMs: 10 });
  const vector = (value: string) => ({
    status: 'success',
    data: { resultType: 'vector', result: [{ metric: { job: 'x' }, value: [1700000000.5, value] }] },
  });

  it('returns the query, the evaluation time and the series (NaN as null)', async () => {
    replies.push({ status: 200, body: vector('NaN') });
    expect(await client().instant('up')).toEqual({
      query: 'up',
      time: 1700000000.5,
      resultType: 'vector',
      series: [{ labels: { job: 'x' }, value: null }],
      attempts: 1,
    });
    expect(seen.at(-1)).toBe('/api/v1/query query=up');
  });

  it('retries 503 (honouring Retry-After) and 5xx, then succeeds', async () => {
    replies.push({
      status: 503,
      body: { status: 'error', errorType: 'timeout', error: 'query timed out' },
      headers: { 'retry-after': '0' },
    });
    replies.push({ status: 502, body: 'bad gateway' });
    replies.push({ status: 200, body: vector('4') });
    const r = await client().instant('up');
    expect(r).toMatchObject({ attempts: 3, series: [{ value: 4 }] });
  });

  it('a bad query is non-retryable at once; an outage is retryable after the attempts', async () => {
    replies.push({ status: 400, body: { status: 'error', errorType: 'bad_data', error: 'parse error at char 3' } });
    await expect(client().instant('up{')).rejects.toMatchObject({
      type: 'PrometheusBadQuery',
      nonRetryable: true,
      message: expect.stringContaining('parse error'),
    });
    replies.push({ status: 500 }, { status: 500 });
    await expect(client(2).instant('up')).rejects.toMatchObject({ type: 'PrometheusUnavailable', nonRetryable: false });
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(
      new PrometheusClient({ url: `http://127.0.0.1:${port}`, attempts: 1, timeoutMs: 500, backoffMs: 1 }).instant(
        'up',
      ),
    ).rejects.toMatchObject({ type: 'PrometheusUnavailable', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('times out a request that gets no answer', async () => {
    replies.push({ status: 200, hang: true });
    await expect(client(1, 300).instant('up')).rejects.toMatchObject({
      type: 'PrometheusUnavailable',
      message: expect.stringContaining('no answer within 300 ms'),
    });
  });

  it('reads its settings from the environment', () => {
    expect(prometheusSettingsFrom({ SCANFLOW_PROMETHEUS_URL: 'http://prom:9090/' })).toMatchObject({
      url: 'http://prom:9090',
      timeoutMs: 5000,
      attempts: 3,
    });
    expect(() => prometheusSettingsFrom({ SCANFLOW_PROMETHEUS_URL: 'file:///etc' })).toThrow(/http/);
  });
});
