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
}

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
  return {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    kubeletClientCert: p('kubelet-client.crt'),
    kubeletClientKey: p('kubelet-client.key'),
  };
}
