/**
 * config.json: the resolved trial config as the trainer ran it, with the trial's sweep
 * coordinates (meta) and its parameter accounting. Written first by the trial; read by tables,
 * the bundle and the report.
 */
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic.js';
import { InputError } from './errors.js';
import { CONFIG_FILE } from './files.js';
import { isObject, readJsonIf } from './json.js';

/** A trial's coordinates in its sweep (sweep/types.ts TrialMeta, as read back). */
export interface TrialMetaFile {
  kind?: string;
  variant?: string;
  seed?: number;
  budget?: string;
  rho?: number;
  rhoActual?: number;
  slots?: number;
  [key: string]: unknown;
}

/** config.json as its readers see it: the fields they use, typed; the rest passed through. */
export interface TrialConfigFile {
  meta?: TrialMetaFile;
  accounting?: { pTot?: number; pAct?: number; pSparse?: number; slots?: number; [key: string]: unknown };
  model?: {
    moe?: { routed?: number; [key: string]: unknown } | null;
    engram?: unknown;
    overEncoding?: unknown;
    [key: string]: unknown;
  };
  train?: { seed?: number; steps?: number; [key: string]: unknown };
  data?: { corpus?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Write <dir>/config.json atomically (dir: the trial folder). */
export function writeTrialConfig(dir: string, config: object): void {
  writeJsonAtomic(join(dir, CONFIG_FILE), config);
}

/** <dir>/config.json, or null when absent; malformed JSON or a non-object is an InputError naming it. */
export function readTrialConfig(dir: string): TrialConfigFile | null {
  const file = join(dir, CONFIG_FILE);
  const c = readJsonIf(file);
  if (c === null) return null;
  if (!isObject(c)) throw new InputError(file, 'must hold a JSON object (the trial config)');
  return c as TrialConfigFile;
}
