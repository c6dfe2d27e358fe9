/** Kubernetes-style memory quantities ("3Gi", "512Mi", "1G", "1500000000") in bytes. */
const units: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

export function parseQuantity(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(text.trim());
  if (!m) throw new Error(`not a memory quantity: ${JSON.stringify(text)} (e.g. 3Gi, 512Mi)`);
  return Math.round(Number(m[1]) * units[m[2] ?? '']!);
}
