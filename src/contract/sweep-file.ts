/**
 * sweep.json: the resolved spec, its hash, created/updated times and the trial list (so
 * `status` counts pending trials without the spec). Written by the coordinator holding the
 * folder's lock.
 */
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic.js';
import { InputError } from './errors.js';
import { SWEEP_FILE } from './files.js';
import { isObject, readJsonIf } from './json.js';

export interface SweepRecord<M = Record<string, unknown>> {
  name: string;
  specHash: string;
  spec: unknown;
  created: string;
  updated: string;
  trials: { id: string; meta: M; steps: number }[];
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
