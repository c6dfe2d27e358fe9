/**
 * Cluster DNS on real nodes: CoreDNS (built from its Go module, serving cluster.local from the API
 * server; the kubelets' clusterDNS) lets a pod reach a Service by name. A client pod of the
 * project's image resolves the Service by its short name (the pod's search path) and by its full
 * name, both to the Service's cluster IP, and gets an answer from the server pod behind it.
 */
import { describe, expect, it } from '@jest/globals';
import {
  deployReady,
  helloContainer,
  helloService,
  http,
  imageContainer,
  kubectl,
  realPodSpec,
  waitFor,
} from './support.js';
import { nodesSuite } from './suite.js';

describe('cluster DNS on real nodes', () => {
  const suite = nodesSuite('nodes-dns');

  it('a pod resolves a Service by name and reaches it', async () => {
    const { c, ns } = suite;
    const [server] = await deployReady(c, ns, 'hello', realPodSpec([helloContainer(c)]), { timeoutMs: 120_000 });
    const clusterIP = await helloService(c, ns, 'hello');
    // The pod turns Ready a moment before kube-proxy has written the Service's rules: until the
    // host (same network namespace as kube-proxy) gets an answer through the cluster IP, a client
    // pod would be refused for a reason that has nothing to do with DNS.
    await waitFor('the Service to answer through its cluster IP', 60_000, async () => {
      const r = await http(`http://${clusterIP}:80/`).catch(() => undefined);
      return r?.status === 200;
    });

    const script = `
      const dns = require('dns').promises; const http = require('http');
      const get = (u) => new Promise((ok, ko) => http.get(u, (r) => { let b = ''; r.on('data', (d) => b += d); r.on('end', () => ok(b)); }).on('error', ko));
      (async () => {
        const t = Date.now();
        const short = (await dns.lookup('hello')).address;
        const ms = Date.now() - t;
        const full = (await dns.lookup('hello.${ns}.svc.cluster.local')).address;
        const api = (await dns.lookup('kubernetes.default')).address;
        const body = await get('http://hello/');
        console.log(JSON.stringify({ short, full, api, body, ms, resolv: require('fs').readFileSync('/etc/resolv.conf', 'utf8') }));
      })().catch((e) => { console.log(JSON.stringify({ error: String(e), resolv: require('fs').readFileSync('/etc/resolv.conf', 'utf8') })); process.exit(1); });`;
    await c.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'client' },
        spec: realPodSpec([imageContainer(c, { name: 'client', command: ['node', '-e', script] })], {
          restartPolicy: 'Never',
        }),
      },
    });
    const phase = await waitFor('the client pod to finish', 120_000, async () => {
      const p = await c.core.readNamespacedPod({ name: 'client', namespace: ns });
      return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p.status.phase : undefined;
    });
    const logs = await kubectl(c, ['logs', '-n', ns, 'client']);
    const out = JSON.parse(logs.trim().split('\n').pop()!) as {
      short?: string;
      full?: string;
      api?: string;
      body?: string;
      ms?: number;
      error?: string;
      resolv: string;
    };
    process.stderr.write(
      `[nodes] DNS: a pod resolved 'hello' in ${out.ms} ms → ${out.short}; resolv.conf: ${out.resolv.replace(/\n/g, ' | ')}\n`,
    );
    expect(out.error).toBeUndefined();
    expect(phase).toBe('Succeeded');
    expect(out.short).toBe(clusterIP);
    expect(out.full).toBe(clusterIP);
    expect(out.api).toBe('10.0.0.1');
    expect(out.body?.split(' ')[0]).toBe(server!.metadata?.name);
  }, 300_000);
});
