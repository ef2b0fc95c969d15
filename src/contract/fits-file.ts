/**
 * fits.json: the sweep's fits, written by `engram-sweep fit` (src/fit), read by the report and
 * the bundle. The fit result shapes belong to src/fit; here are the file and its envelope.
 */
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic.js';
import { FITS_FILE } from './files.js';
import { readJsonIf, readJsonQuiet } from './json.js';

export interface FitsFile<F = unknown> {
  /** the sweep folder's name */
  sweep: string;
  fits: F[];
}

/** Write <dir>/fits.json atomically (dir: the sweep folder). */
export function writeFitsFile<F>(dir: string, fits: FitsFile<F>): void {
  writeJsonAtomic(join(dir, FITS_FILE), fits);
}

/**
 * <dir>/fits.json as parsed (its shape is the caller's to check), or null when absent. Malformed
 * JSON is an InputError naming the file, unless `lenient` (a refit replaces an unreadable one):
 * then null.
 */
export function readFitsFile(dir: string, opts: { lenient?: boolean } = {}): unknown {
  const file = join(dir, FITS_FILE);
  if (opts.lenient) return readJsonQuiet(file) ?? null;
  return readJsonIf(file);
}
