/**
 * The first string `code` along an error's `cause` chain: a knowledge-store failure keeps its
 * code (e.g. 'Backend': the S3 server is unreachable) under the messages that wrap it on the
 * way up (model loader, version switcher), so callers decide by code, never by message text.
 */
export function errorCodeOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 16; depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
