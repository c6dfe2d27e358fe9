import { staleImageRefs } from '../../../src/platform/kubernetes/control-plane/image-refs.js';

// A node's `ctr images ls` after two builds: each build listed by tag and by the CRI plugin's
// bare config id; the pause image likewise (the listing of a real node, digests shortened).
const sha = (c: string) => `sha256:${c.repeat(64)}`;
const listed = [
  { ref: 'registry.k8s.io/pause:3.10.1', digest: sha('e') },
  { ref: sha('1'), digest: sha('e') },
  { ref: 'scanflow.local/scanflow:new', digest: sha('a') },
  { ref: sha('2'), digest: sha('a') },
  { ref: 'scanflow.local/scanflow:old', digest: sha('b') },
  { ref: sha('3'), digest: sha('b') },
  { ref: sha('4'), digest: sha('c') },
  { ref: 'docker.io/library/other:1', digest: sha('d') },
];

describe('staleImageRefs (a node keeps only the wanted builds)', () => {
  it('removes an old build by tag and by its CRI id, and an orphan CRI id', () => {
    const stale = staleImageRefs(listed, new Set(['registry.k8s.io/pause:3.10.1', 'scanflow.local/scanflow:new']));
    expect(stale.sort()).toEqual(['scanflow.local/scanflow:old', sha('3'), sha('4')].sort());
  });

  it('keeps every reference of a wanted image and images that are not the project’s', () => {
    const stale = staleImageRefs(listed, new Set(['registry.k8s.io/pause:3.10.1', 'scanflow.local/scanflow:new']));
    for (const kept of [sha('1'), sha('2'), 'scanflow.local/scanflow:new', 'docker.io/library/other:1'])
      expect(stale).not.toContain(kept);
  });

  it('removes only the orphan CRI id when every build is wanted', () => {
    const all = new Set(['registry.k8s.io/pause:3.10.1', 'scanflow.local/scanflow:new', 'scanflow.local/scanflow:old']);
    expect(staleImageRefs(listed, all)).toEqual([sha('4')]);
  });
});
