/**
 * The error the ML library throws for bad input (wrong shape or dtype, empty batch, unknown
 * corruption, bad schedule, over-budget labelling, a malformed IDX file): retrying cannot fix it,
 * so activities turn it into a non-retryable failure. Messages name the field and the problem.
 */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
}
