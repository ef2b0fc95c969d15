/**
 * How the contract's JSON files are read: absent is null; present but malformed is an
 * InputError naming the file (or null, for the readers that treat damage as absence).
 */
import { existsSync, readFileSync } from 'node:fs';
import { InputError } from './errors.js';

/** The parsed file, or null when it does not exist. Malformed JSON throws InputError(file). */
export function readJsonIf(file: string): unknown {
  if (!existsSync(file)) return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return null; // removed between the check and the read
    throw new InputError(file, `cannot be read: ${err.code ?? err.message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(file, `malformed JSON: ${(e as Error).message}`);
  }
}

/** The parsed file, or undefined when it is absent or unreadable (damage counts as absence). */
export function readJsonQuiet(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
