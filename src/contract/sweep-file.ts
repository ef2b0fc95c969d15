/**
 * sweep.json: the resolved spec, its hash, created/updated times and the trial list (so
 * `status` counts pending trials without the spec), all of the current version of the spec; and
 * the history of every version that has written to the folder (a folder holds the trials of all
 * of them: trials are reused by id, so growing a spec trains only what is new). Written by the
 * coordinator holding the folder's lock.
 */
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic.js';
import { InputError } from './errors.js';
import { SWEEP_FILE } from './files.js';
import { isObject, readJsonIf } from './json.js';

/** One version of the spec that ran in the folder (appended when the spec hash changes). */
export interface SweepVersion {
  specHash: string;
  spec: unknown;
  /** ISO time this version first wrote the folder */
  at: string;
  /** the spec file, relative to the sweep folder (absent for --plan runs and old folders) */
  file?: string;
}

export interface SweepRecord<M = Record<string, unknown>> {
  name: string;
  /** the current version's hash and resolved spec */
  specHash: string;
  spec: unknown;
  created: string;
  updated: string;
  /** the current version's trials: what fits and reports use */
  trials: { id: string; meta: M; steps: number }[];
  /** every version, oldest first, the current one last (absent in folders written before it) */
  history?: SweepVersion[];
}

/** Write <dir>/sweep.json atomically (dir: the sweep folder). */
export function writeSweepRecord(dir: string, record: SweepRecord<unknown>): void {
  writeJsonAtomic(join(dir, SWEEP_FILE), record);
}

/**
 * <dir>/sweep.json, or null when there is none (a missing or fresh folder). One that is
 * malformed or lacks specHash / trials is an InputError naming it.
 */
export function readSweepRecord<M = Record<string, unknown>>(dir: string): SweepRecord<M> | null {
  const file = join(dir, SWEEP_FILE);
  let r: unknown;
  try {
    r = readJsonIf(file);
  } catch (e) {
    if (!(e instanceof InputError && e.where === file)) throw e;
    throw new InputError(file, `is not a sweep.json written by engram-sweep (${e.message})`);
  }
  if (r === null) return null;
  if (!isObject(r) || typeof r.specHash !== 'string' || !Array.isArray(r.trials)) {
    throw new InputError(file, 'is not a sweep.json written by engram-sweep (no specHash or trials)');
  }
  return r as unknown as SweepRecord<M>;
}
