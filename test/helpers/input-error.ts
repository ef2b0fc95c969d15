import { expect } from 'vitest';
import { InputError } from '../../src/cli/errors.js';

/** Run f, expect it to throw an InputError, and return the one line the CLI would print. */
export function inputErrorLine(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as InputError).line();
  }
  throw new Error('expected an InputError');
}
