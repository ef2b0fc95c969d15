/**
 * Bad input is a typed value, not a stack trace: the CLI prints one line naming where
 * (file, field), the value, and what is allowed, then exits 2. Nothing is written first.
 * Part of the contract layer: every stage throws it, and it imports nothing of the suite.
 */
export class InputError extends Error {
  readonly code = 2;
  constructor(
    /** file path, or a pseudo-source such as "--vocab" */
    readonly where: string,
    message: string,
    /** JSON path inside the file, e.g. "budgets[0].pTot" */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'InputError';
  }

  /** The one line the CLI prints. */
  line(): string {
    const at = this.field ? `${this.where}: ${this.field}` : this.where;
    return `${at}: ${this.message}`;
  }
}

/** Shorthand for throwing from deep inside a parser. */
export function inputError(where: string, message: string, field?: string): never {
  throw new InputError(where, message, field);
}

/** Render a value for an error line without flooding it. */
export function show(value: unknown): string {
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    s = String(value);
  }
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}
