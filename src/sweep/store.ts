/**
 * The results folder of one sweep (DESIGN: results contract):
 *   <root>/<sweep>/sweep.json            resolved spec, its hash, created/updated, the trial list
 *   <root>/<sweep>/sweep.lock            the coordinator that owns the folder (pid, start time)
 *   <root>/<sweep>/trials/<id>/...       config.json, metrics.jsonl, gates.json, result.json
 * Only the coordinator holding the lock writes sweep.json and cleans trial folders; its children
 * write inside their own trial folder.
 * result.json is written last and atomically, so its presence means finished (ok or failed);
 * everything else in an unfinished trial folder is disposable and is removed before a rerun.
 */
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { InputError } from '../contract/errors.js';
import { RESULT_FILE, SWEEP_FILE, trialDir } from '../contract/files.js';
import { readJsonQuiet } from '../contract/json.js';
import { readProgress as readProgressFile } from '../contract/progress.js';
import {
  failedResult,
  readResult as readResultFile,
  writeResult,
  type FailureReason,
  type RunBackend,
} from '../contract/result.js';
import type { TrialResult } from '../contract/results.js';
import {
  readSweepRecord as readSweepFile,
  writeSweepRecord,
  type SweepRecord as SweepFile,
} from '../contract/sweep-file.js';
import type { SweepPlan, Trial, TrialMeta } from './types.js';
import { trialSteps } from '../train/schedule.js';
import { SNAPSHOT_DIR } from '../train/snapshot.js';

export { PROGRESS_FILE, SWEEP_FILE, trialDir } from '../contract/files.js';
export type { RemoteProgress } from '../contract/progress.js';

/** What sweep.json holds. The trial list lets `status` count pending trials without the spec. */
export type SweepRecord = SweepFile<TrialMeta>;

/** The sweep.json of a folder, or null when there is none (a missing or fresh folder). */
export const readSweepRecord = (dir: string): SweepRecord | null => readSweepFile<TrialMeta>(dir);

/** The spec file that last wrote a folder (absolute), from sweep.json's history; undefined when none is recorded. */
function claimedBy(dir: string, record: SweepRecord | null): string | undefined {
  const f = [...(record?.history ?? [])].reverse().find((v) => typeof v.file === 'string')?.file;
  return f === undefined ? undefined : resolve(dir, f);
}

/**
 * Refuse a folder that another spec file wrote (two files with the same `name:` would merge
 * their trials silently). Plans without a file (--plan) and folders without one are not checked.
 */
function checkClaim(dir: string, record: SweepRecord | null, plan: Pick<SweepPlan, 'file'>): void {
  const other = claimedBy(dir, record);
  if (!plan.file || other === undefined || other === resolve(plan.file)) return;
  throw new InputError(
    join(dir, SWEEP_FILE),
    `holds the sweep of another spec file (${other}) under the same name; ` +
      `set name: in ${plan.file} to a name of its own, or pass --results DIR (or --new)`,
  );
}

/**
 * The folder a plan writes to: <root>/<name>, which holds every version of the spec (a changed
 * spec is a new version there: its trials that are already finished are reused by id). A folder
 * another spec file wrote is refused (exit 2, naming the fix). With `fresh` (--new): <root>/<name>
 * only when it is free or holds this same spec, else the first of <name>-2, <name>-3, ... that is
 * free or holds this same spec, so rerunning with --new resumes that folder.
 */
export function chooseResultsDir(
  root: string,
  plan: Pick<SweepPlan, 'name' | 'specHash' | 'file'>,
  fresh = false,
): string {
  const base = join(root, plan.name);
  const sameFile = (dir: string, r: SweepRecord | null) =>
    !plan.file || claimedBy(dir, r) === undefined || claimedBy(dir, r) === resolve(plan.file);
  const record = readSweepRecord(base);
  if (!fresh) {
    checkClaim(base, record, plan);
    return base;
  }
  if (!record || (record.specHash === plan.specHash && sameFile(base, record))) return base;
  for (let k = 2; ; k++) {
    const dir = `${base}-${k}`;
    const r = readSweepRecord(dir);
    if (!r || (r.specHash === plan.specHash && sameFile(dir, r))) return dir;
  }
}

/**
 * Write sweep.json for this plan (keeping `created` on a resume): the current version at the top
 * level, and in `history` a new entry when the spec hash changed. Called with the lock held; it
 * re-checks the spec file, since another may have claimed the folder before the lock.
 */
export function openSweep(dir: string, plan: SweepPlan): SweepRecord {
  const old = readSweepRecord(dir);
  checkClaim(dir, old, plan);
  const now = new Date().toISOString();
  const history = old?.history
    ? [...old.history]
    : old
      ? [{ specHash: old.specHash, spec: old.spec, at: old.created }]
      : [];
  const file = plan.file ? relative(dir, resolve(plan.file)) : undefined;
  const last = history[history.length - 1];
  if (!last || last.specHash !== plan.specHash)
    history.push({ specHash: plan.specHash, spec: plan.spec, at: now, ...(file ? { file } : {}) });
  else if (file && last.file !== file) history[history.length - 1] = { ...last, file };
  const record: SweepRecord = {
    name: plan.name,
    specHash: plan.specHash,
    spec: plan.spec,
    created: old?.created ?? now,
    updated: now,
    trials: plan.trials.map((t) => ({
      id: t.id,
      meta: t.meta,
      steps: trialSteps(t.config.train, t.config.data.seqLen),
    })),
    history,
  };
  writeSweepRecord(dir, record);
  return record;
}

/** Bump sweep.json's `updated` (after a run). */
export function touchSweep(dir: string): void {
  const r = readSweepRecord(dir);
  if (r) writeSweepRecord(dir, { ...r, updated: new Date().toISOString() });
}

/** A remote trial's progress.json (src/contract/progress.ts), by sweep folder and trial id. */
export const readProgress = (dir: string, id: string) => readProgressFile(trialDir(dir, id));

/**
 * A trial's result.json, or null when absent or unreadable (then the trial is unfinished): the
 * contract's reader (src/contract/result.ts), by sweep folder and trial id.
 */
export const readResult = (dir: string, id: string): TrialResult | null => readResultFile(trialDir(dir, id));

/** Remove `*.tmp` leftovers of killed writers (the lock is held: nobody else writes here). */
export function removeTempFiles(dir: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) if (f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });
}

/**
 * Empty an unfinished (or retried) trial's folder so it starts cleanly: partial metrics, temp
 * files, config and gates go. result.json goes first, so a kill half-way leaves an unfinished
 * trial, never a "finished" one without its files. An unfinished trial keeps its branch-point
 * snapshot (it resumes from there, with the metrics the snapshot holds); a retried failed one
 * starts over.
 */
export function resetTrial(dir: string, id: string, keepSnapshot = false): void {
  const t = trialDir(dir, id);
  const failed = existsSync(join(t, RESULT_FILE));
  rmSync(join(t, RESULT_FILE), { force: true });
  if (!keepSnapshot || failed || !existsSync(join(t, SNAPSHOT_DIR))) {
    rmSync(t, { recursive: true, force: true });
    return;
  }
  for (const f of readdirSync(t)) if (f !== SNAPSHOT_DIR) rmSync(join(t, f), { recursive: true, force: true });
}

export interface ResumePlan {
  /** trials to run now, in plan order */
  todo: Trial[];
  done: string[];
  failed: string[];
}

/**
 * Sort a plan's trials by what their folders hold: ok results are never run again, failed ones
 * only with retryFailed, everything else is reset and run. Removes the sweep folder's temp files.
 */
export function prepareResume(dir: string, trials: Trial[], retryFailed = false): ResumePlan {
  removeTempFiles(dir);
  const out: ResumePlan = { todo: [], done: [], failed: [] };
  for (const t of trials) {
    const r = readResult(dir, t.id);
    if (r?.status === 'ok') out.done.push(t.id);
    else if (r?.status === 'failed' && !retryFailed) out.failed.push(t.id);
    else {
      resetTrial(dir, t.id, true);
      out.todo.push(t);
    }
  }
  return out;
}

/**
 * The result.json the coordinator writes for a trial whose process died without one (crashed,
 * out of memory), in the shape runTrial writes.
 */
export function writeFailedResult(
  dir: string,
  id: string,
  r: { reason: Exclude<FailureReason, 'diverged'>; message: string; step?: number; tokens?: number; seconds: number },
  backend: RunBackend,
): TrialResult {
  const result = failedResult(r, backend);
  writeResult(trialDir(dir, id), result);
  return result;
}

// ---- the coordinator lock -------------------------------------------------------------------

export const LOCK_FILE = 'sweep.lock';

export interface LockInfo {
  pid: number;
  host: string;
  /** ISO time the coordinator took the lock */
  started: string;
  /** the process's start time in clock ticks since boot (Linux), so a reused pid is not "alive" */
  procStart?: string;
}

/** Field 22 of /proc/<pid>/stat (start time); undefined off Linux or for a dead pid. */
function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function readLock(dir: string): LockInfo | null {
  const l = readJsonQuiet(join(dir, LOCK_FILE)) as LockInfo | undefined;
  return l && typeof l.pid === 'number' ? l : null;
}

/** Is the lock's owner still running? A lock from another host counts as live (we cannot tell). */
export function lockAlive(l: LockInfo | null): boolean {
  if (!l) return false;
  if (l.host !== hostname()) return true;
  try {
    process.kill(l.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = procStart(l.pid);
  return !(l.procStart && now && now !== l.procStart);
}

/**
 * Take the folder's lock or throw InputError (exit 2) naming the live owner. The lock is created
 * whole by link(2), which fails if it exists; a stale one (dead pid) is removed and taken over.
 * Returns the release function (also run at process exit).
 */
export function acquireLock(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    procStart: procStart(process.pid),
  };
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(info) + '\n');
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = readLock(dir);
      if (attempt > 0 || lockAlive(owner)) {
        const who = owner ? `pid ${owner.pid} on ${owner.host}, since ${owner.started}` : 'an unreadable lock';
        throw new InputError(
          dir,
          `is in use by another engram-sweep run (${who}); wait for it to end, or delete ${file} if that process is gone`,
        );
      }
      // stale: remove it, unless another coordinator took it over meanwhile
      if (readLock(dir)?.pid === owner?.pid) rmSync(file, { force: true });
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    if (readLock(dir)?.pid === process.pid) rmSync(file, { force: true });
  };
  process.on('exit', release);
  return release;
}
