/** Installs CRD manifests (deploy/crds) and waits until the API server serves them (Established). */
import { readFileSync } from 'node:fs';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  KubeConfig,
  loadAllYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';

export async function installCrds(kubeconfigPath: string, files: string[]): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const names: string[] = [];
  const served: Array<{ group: string; version: string; plural: string }> = [];
  for (const file of files) {
    for (const doc of loadAllYaml(readFileSync(file, 'utf8')) as V1CustomResourceDefinition[]) {
      if (doc?.kind !== 'CustomResourceDefinition') continue;
      const name = doc.metadata?.name;
      if (!name) throw new Error(`${file}: a CustomResourceDefinition without metadata.name`);
      try {
        await api.createCustomResourceDefinition({ body: doc });
      } catch (err) {
        if ((err as { code?: number }).code !== 409)
          throw new Error(`${file}: installing CRD ${name} failed: ${String((err as { body?: unknown }).body ?? err)}`);
        await api.replaceCustomResourceDefinition({
          name,
          body: {
            ...doc,
            metadata: {
              ...doc.metadata,
              resourceVersion: (await api.readCustomResourceDefinition({ name })).metadata?.resourceVersion,
            },
          },
        });
      }
      names.push(name);
      for (const v of doc.spec.versions.filter((x) => x.served))
        served.push({ group: doc.spec.group, version: v.name, plural: doc.spec.names.plural });
    }
  }
  const deadline = Date.now() + 30_000;
  for (const name of names) {
    for (;;) {
      const crd = await api.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} was not Established within 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // Established is not yet "servable": the first requests can still get 429 "storage is
  // (re)initializing". Wait until a list of each served version answers.
  for (const r of served) {
    for (;;) {
      try {
        await custom.listClusterCustomObject(r);
        break;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`CRD ${r.plural}.${r.group}/${r.version} is not served after 30 s: ${String(err)}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    }
  }
  return names;
}
