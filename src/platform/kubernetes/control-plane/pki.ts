/**
 * The certificates real nodes need beyond what kube-apiserver mints for itself: a CA that the
 * kubelets trust for client certificates, and the API server's client certificate signed by it
 * (logs, exec and port-forward go from the API server to a kubelet). Made with the openssl CLI.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { mustRun } from './host.js';

export interface NodePki {
  caCert: string;
  caKey: string;
  /** kube-apiserver --kubelet-client-certificate / --kubelet-client-key */
  kubeletClientCert: string;
  kubeletClientKey: string;
  /**
   * kube-apiserver --proxy-client-cert-file / --proxy-client-key-file: the aggregation layer's
   * client certificate (CN front-proxy-client, signed by the same CA, which is then also the
   * --requestheader-client-ca-file that extension API servers such as metrics-server trust).
   */
  frontProxyClientCert: string;
  frontProxyClientKey: string;
}

export const FRONT_PROXY_CLIENT = 'front-proxy-client';

export async function createNodePki(dir: string): Promise<NodePki> {
  mkdirSync(dir, { recursive: true });
  const p = (f: string): string => join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await mustRun('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '30',
    '-subj',
    '/CN=scanflow-nodes-ca',
  ]);
  await mustRun('openssl', [
    'req',
    ...ec,
    '-keyout',
    p('kubelet-client.key'),
    '-out',
    p('kubelet-client.csr'),
    '-subj',
    '/O=system:masters/CN=kube-apiserver-kubelet-client',
  ]);
  await mustRun('openssl', [
    'x509',
    '-req',
    '-in',
    p('kubelet-client.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('kubelet-client.crt'),
    '-days',
    '30',
  ]);
  await mustRun('openssl', [
    'req',
    ...ec,
    '-keyout',
    p('front-proxy-client.key'),
    '-out',
    p('front-proxy-client.csr'),
    '-subj',
    `/CN=${FRONT_PROXY_CLIENT}`,
  ]);
  await mustRun('openssl', [
    'x509',
    '-req',
    '-in',
    p('front-proxy-client.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('front-proxy-client.crt'),
    '-days',
    '30',
  ]);
  return {
    frontProxyClientCert: p('front-proxy-client.crt'),
    frontProxyClientKey: p('front-proxy-client.key'),
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    kubeletClientCert: p('kubelet-client.crt'),
    kubeletClientKey: p('kubelet-client.key'),
  };
}
