/**
 * Kubernetes quantities (k8s.io/apimachinery resource.Quantity) as numbers, by the API's grammar
 * (kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity):
 *
 *   <quantity>        ::= <signedNumber><suffix>
 *   <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 *   <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
 *   <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
 *   <decimalSI>       ::= m | "" | k | M | G | T | P | E
 *   <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
 *
 * plus the decimal suffixes n and u, which apimachinery's parser accepts as well and
 * metrics.k8s.io writes (a pod's CPU in nanocores, "123456n"). The exponent is an integer, as
 * apimachinery reads it. Numbers here are doubles, not the API's fixed point: fine for the
 * thresholds, requests and sizes the project reads (far below 2^53 units, three decimals).
 */
const binary: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const decimal: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

// A lone "E" is exa (decimalSI); "E" followed by digits is an exponent: the alternation tries the
// exponent first and backtracks to the suffix when no digits follow.
const grammar = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([KMGTPE]i)|[eE]([+-]?\d+)|([numkMGTPE]))?$/;

interface Parsed {
  value: number;
  /** The power of ten of the suffix or exponent (binary suffixes: 0, they only scale up). */
  exponent: number;
}

function parse(text: string, what: string): Parsed {
  const m = grammar.exec(String(text).trim());
  if (!m)
    throw new Error(
      `${what}: ${JSON.stringify(text)} is not a Kubernetes quantity (a number with an optional suffix m, k, M, G, Ki, Mi, Gi, … or exponent e3, e.g. 250m, 2, 512Mi)`,
    );
  const mantissa = Number(m[1]);
  if (m[2] !== undefined) return check({ value: mantissa * 1024 ** binary[m[2]]!, exponent: 0 }, text, what);
  const exponent = m[3] !== undefined ? Number(m[3]) : decimal[m[4] ?? '']!;
  // Dividing by a power of ten keeps "100m" exactly 0.1 (multiplying by 1e-3 would not).
  const value = exponent >= 0 ? mantissa * 10 ** exponent : mantissa / 10 ** -exponent;
  return check({ value, exponent }, text, what);
}

function check(p: Parsed, text: string, what: string): Parsed {
  if (!Number.isFinite(p.value)) throw new Error(`${what}: ${JSON.stringify(text)} is out of range`);
  return p;
}

/** Any quantity ("250m", "8", "1.5Gi", "1e3", "-2") as a number of units; `what` names it in the error. */
export function quantityValue(text: string, what = 'quantity'): number {
  return parse(text, what).value;
}

/** A CPU quantity ("250m", "0.5", "2") in cores; never negative. `what` names it in the error. */
export function parseCpuQuantity(text: string, what = 'CPU quantity'): number {
  const cores = parse(text, what).value;
  if (cores < 0) throw new Error(`${what}: ${JSON.stringify(text)} is negative (cores, e.g. 250m, 0.5, 2)`);
  return cores;
}

/**
 * A memory quantity ("3Gi", "512Mi", "1G", "1500000000") in whole bytes. A sub-unit suffix or
 * exponent (m, u, n, e-3) is a valid quantity but no memory size: refused, as is a negative size.
 */
export function parseQuantity(text: string): number {
  const refuse = (cause?: unknown): Error =>
    new Error(`not a memory quantity: ${JSON.stringify(text)} (e.g. 3Gi, 512Mi)`, { cause });
  let p: Parsed;
  try {
    p = parse(text, 'memory quantity');
  } catch (err) {
    throw refuse(err);
  }
  if (p.exponent < 0 || p.value < 0) throw refuse();
  return Math.round(p.value);
}
