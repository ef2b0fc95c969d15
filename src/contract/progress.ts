/**
 * progress.json in a trial folder: where a trial running on a remote worker stands (the
 * coordinator writes it from the worker's progress reports; its metrics arrive only with the
 * result). Removed when the result is collected. Display only: damage reads as absence.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic.js';
import { PROGRESS_FILE } from './files.js';
import { readJsonQuiet } from './json.js';

export interface RemoteProgress {
  worker: string;
  step: number;
  steps: number;
  loss: number;
  tokensPerSec: number;
}

/** Write <dir>/progress.json atomically (dir: the trial folder). */
export function writeProgress(dir: string, p: RemoteProgress): void {
  writeJsonAtomic(join(dir, PROGRESS_FILE), p);
}

/** <dir>/progress.json, or null when absent or unreadable. */
export function readProgress(dir: string): RemoteProgress | null {
  const p = readJsonQuiet(join(dir, PROGRESS_FILE)) as RemoteProgress | undefined;
  return p && typeof p.step === 'number' ? p : null;
}

export function removeProgress(dir: string): void {
  rmSync(join(dir, PROGRESS_FILE), { force: true });
}
