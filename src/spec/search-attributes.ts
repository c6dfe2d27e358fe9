import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Typed search attributes Scanflow puts on its workflows, so an operator can find them:
 *   temporal workflow list -q "ScanflowApp='mnist' AND ScanflowTemplate='checker'"
 * Registered on the server by `scanflow up` and by the test harness.
 */
export const ScanflowApp = defineSearchAttributeKey('ScanflowApp', SearchAttributeType.KEYWORD);
export const ScanflowAgent = defineSearchAttributeKey('ScanflowAgent', SearchAttributeType.KEYWORD);
export const ScanflowTemplate = defineSearchAttributeKey('ScanflowTemplate', SearchAttributeType.KEYWORD);
export const ScanflowState = defineSearchAttributeKey('ScanflowState', SearchAttributeType.KEYWORD);
/** What kind of Scanflow workflow this is: agent, trigger, batch, training, detector, loadgen. */
export const ScanflowKind = defineSearchAttributeKey('ScanflowKind', SearchAttributeType.KEYWORD);

export const scanflowSearchAttributes = [
  ScanflowApp,
  ScanflowAgent,
  ScanflowTemplate,
  ScanflowState,
  ScanflowKind,
] as const;

/** `--search-attribute Name=Keyword` flags for `temporal server start-dev`. */
export function searchAttributeFlags(): string[] {
  return scanflowSearchAttributes.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
}
