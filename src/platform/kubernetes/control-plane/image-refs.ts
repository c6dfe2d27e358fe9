/** Which image references on a node are older builds (the node store's clean-up). */

export interface ListedImage {
  ref: string;
  digest: string;
}

/**
 * The references that keep an unwanted image's layers (1.1 GB a build) in the node's store. One
 * image has up to three: the tag an import gives it (scanflow.local/scanflow:…), its digest
 * reference, and the bare `sha256:<config>` id containerd's CRI plugin adds once it has seen the
 * image. Removing the tags alone left every old build's layers held by its CRI id (7 GB a node).
 * Kept: the wanted references and anything that shares a wanted image's manifest digest.
 */
export function staleImageRefs(listed: ListedImage[], wanted: Set<string>): string[] {
  const wantedDigests = new Set(listed.filter((i) => wanted.has(i.ref)).map((i) => i.digest));
  return listed
    .filter((i) => !wanted.has(i.ref) && !wantedDigests.has(i.digest))
    .filter((i) => i.ref.startsWith('scanflow.local/') || /^sha256:[0-9a-f]{64}$/.test(i.ref))
    .map((i) => i.ref);
}
