/**
 * Errors a person can act on: a stable `code` for programs, a message that says what failed and what to do,
 * and the exit code the CLI uses for it (2 = bad input / usage, 1 = operation failed).
 */
export class WardenError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = 1,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'WardenError';
  }
}

/** Message of any thrown value, for error output. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
