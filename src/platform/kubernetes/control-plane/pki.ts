/**
 * The certificates real nodes need beyond what kube-apiserver mints for itself: a CA that the
 * kubelets trust for client certificates, and the API server's client certificate signed by it
 * (logs, exec and port-forward go from the API server to a kubelet). Made with the openssl CLI.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
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

/** A 30-day P-256 CA at `<dir>/ca.key` + `ca.crt` with this subject. */
export async function createCa(dir: string, subject: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const p = (f: string): string => join(dir, f);
  await mustRun('openssl', [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '30',
    '-subj',
    subject,
  ]);
}

/**
 * `<dir>/<name>.key` + `<name>.crt`, a 30-day P-256 certificate with this subject signed by the
 * CA of `dir` (createCa); `extensions` (openssl extfile lines: subjectAltName, key usages) if any.
 */
export async function issueCertificate(
  dir: string,
  name: string,
  subject: string,
  extensions?: string[],
): Promise<void> {
  const p = (f: string): string => join(dir, f);
  await mustRun('openssl', ['req', ...EC_KEY, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', subject]);
  const extfile: string[] = [];
  if (extensions) {
    writeFileSync(p(`${name}.ext`), extensions.join('\n') + '\n');
    extfile.push('-extfile', p(`${name}.ext`));
  }
  await mustRun('openssl', [
    'x509',
    '-req',
    '-in',
    p(`${name}.csr`),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p(`${name}.crt`),
    '-days',
    '30',
    ...extfile,
  ]);
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function createNodePki(dir: string): Promise<NodePki> {
  const p = (f: string): string => join(dir, f);
  await createCa(dir, '/CN=scanflow-nodes-ca');
  await issueCertificate(dir, 'kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client');
  await issueCertificate(dir, FRONT_PROXY_CLIENT, `/CN=${FRONT_PROXY_CLIENT}`);
  return {
    frontProxyClientCert: p('front-proxy-client.crt'),
    frontProxyClientKey: p('front-proxy-client.key'),
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    kubeletClientCert: p('kubelet-client.crt'),
    kubeletClientKey: p('kubelet-client.key'),
  };
}
