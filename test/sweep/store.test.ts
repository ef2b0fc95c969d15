import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import {
  acquireLock,
  chooseResultsDir,
  LOCK_FILE,
  lockAlive,
  openSweep,
  prepareResume,
  readLock,
  readResult,
  readSweepRecord,
  resetTrial,
  trialDir,
  writeFailedResult,
} from '../../src/sweep/store.js';
import { formatStatus, lastMetrics, sweepStatus } from '../../src/sweep/status.js';
import type { SweepPlan, Trial } from '../../src/sweep/types.js';
import { parseTrial } from '../../src/train/config.js';
import { trialId } from '../../src/train/trial-id.js';

const trial = (seed: number, steps = 10): Trial => {
  const config = parseTrial(
    { data: { corpus: '/nowhere' }, model: { dModel: 16, nLayers: 1, nHeads: 2 }, train: { steps, seed } },
    'test',
  );
  return { id: trialId(config), config, meta: { kind: 'dense', variant: 'dense', seed } };
};
const plan = (hash: string, trials = [trial(0), trial(1)], name = 'sw'): SweepPlan => ({
  name,
  specHash: hash,
  spec: { hash },
  trials,
  warnings: [],
});
const base = mkdtempSync(join(tmpdir(), 'es-store-'));
const root = () => mkdtempSync(join(base, 'r-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const okResult = {
  status: 'ok',
  valLoss: 4.5,
  valBpb: 1.2,
  tokens: 100,
  seconds: 1,
  backend: 'wasm',
  native: false,
  threads: 1,
};
const put = (dir: string, id: string, file: string, text: string) => {
  mkdirSync(join(trialDir(dir, id), file, '..'), { recursive: true });
  writeFileSync(join(trialDir(dir, id), file), text);
};
const tmpFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp'));
/** The pid of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

describe('results folder choice', () => {
  it('uses <root>/<name> when free, holding the same spec, or another version of it (it grows in place)', () => {
    const r = root();
    const dir = chooseResultsDir(r, plan('A'));
    expect(dir).toBe(join(r, 'sw'));
    openSweep(dir, plan('A'));
    expect(chooseResultsDir(r, plan('A'))).toBe(dir);
    expect(chooseResultsDir(r, plan('B'))).toBe(dir);
    // another spec file under the same name is refused with exit code 2 (test/sweep/grow.test.ts)
    openSweep(dir, { ...plan('A'), file: join(r, 'a.yaml') });
    let err: unknown;
    try {
      chooseResultsDir(r, { ...plan('B'), file: join(r, 'b.yaml') });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe(2);
    expect((err as InputError).line()).toMatch(
      /sweep\.json: holds the sweep of another spec file .*set name: .*--results DIR/,
    );
  });

  it('--new: the first <name>-k that is free or holds this spec (so it resumes there)', () => {
    const r = root();
    openSweep(chooseResultsDir(r, plan('A')), plan('A'));
    const b = chooseResultsDir(r, plan('B'), true);
    expect(b).toBe(join(r, 'sw-2'));
    openSweep(b, plan('B'));
    expect(chooseResultsDir(r, plan('B'), true)).toBe(join(r, 'sw-2'));
    expect(chooseResultsDir(r, plan('C'), true)).toBe(join(r, 'sw-3'));
    // openSweep re-checks under the lock: a folder claimed by another spec file meanwhile is refused
    openSweep(b, { ...plan('B'), file: join(r, 'b.yaml') });
    expect(() => openSweep(b, { ...plan('C'), file: join(r, 'c.yaml') })).toThrow(InputError);
  });
});

describe('sweep.json', () => {
  it('holds spec, hash, times and the trial list; a resume keeps created; no temp files', async () => {
    const dir = join(root(), 'sw');
    const p = plan('A', [trial(0, 7), trial(1, 9)]);
    const first = openSweep(dir, p);
    await new Promise((r) => setTimeout(r, 5));
    const again = openSweep(dir, p);
    const onDisk = readSweepRecord(dir)!;
    expect(onDisk).toEqual(again);
    expect(onDisk.spec).toEqual({ hash: 'A' });
    expect(onDisk.trials).toEqual(p.trials.map((t) => ({ id: t.id, meta: t.meta, steps: t.config.train.steps })));
    expect(again.created).toBe(first.created);
    expect(again.updated > first.updated).toBe(true);
    expect(tmpFiles(dir)).toEqual([]);
  });
});

describe('resume', () => {
  it('skips ok trials, keeps failed ones unless retried, resets unfinished ones', () => {
    const dir = join(root(), 'sw');
    const [done, failed, partial, fresh] = [trial(0), trial(1), trial(2), trial(3)];
    const trials = [done, failed, partial, fresh];
    put(dir, done.id, 'result.json', JSON.stringify(okResult));
    put(dir, done.id, 'metrics.jsonl', '{"step":1,"loss":5}\n');
    writeFailedResult(
      dir,
      failed.id,
      { reason: 'crashed', message: 'killed by SIGKILL', step: 3, seconds: 2 },
      { name: 'wasm', native: false, threads: 1 },
    );
    // a killed run: partial metrics, a half-written line, temp files of interrupted atomic writes
    put(dir, partial.id, 'metrics.jsonl', '{"step":1,"loss":5}\n{"step":2,"lo');
    put(dir, partial.id, 'config.json', '{}');
    put(dir, partial.id, 'result.json.123.abcd.tmp', '{"status":"o');
    writeFileSync(join(dir, 'sweep.json.99.ffff.tmp'), '{');

    const r = prepareResume(dir, trials);
    expect(r.done).toEqual([done.id]);
    expect(r.failed).toEqual([failed.id]);
    expect(r.todo.map((t) => t.id)).toEqual([partial.id, fresh.id]);
    expect(existsSync(trialDir(dir, partial.id))).toBe(false);
    expect(tmpFiles(dir)).toEqual([]);
    // what was finished is untouched
    expect(readResult(dir, done.id)).toEqual(okResult);
    expect(readFileSync(join(trialDir(dir, done.id), 'metrics.jsonl'), 'utf8')).toBe('{"step":1,"loss":5}\n');
    expect(readResult(dir, failed.id)).toMatchObject({ status: 'failed', reason: 'crashed', step: 3, valLoss: null });

    const retry = prepareResume(dir, trials, true);
    expect(retry.done).toEqual([done.id]);
    expect(retry.todo.map((t) => t.id)).toEqual([failed.id, partial.id, fresh.id]);
    expect(readResult(dir, failed.id)).toBeNull();
    expect(readResult(dir, done.id)).toEqual(okResult);
  });

  it('a changed config is a new trial: new id, new folder, the old result stays', () => {
    const dir = join(root(), 'sw');
    const a = trial(0, 10);
    const b = trial(0, 11);
    expect(b.id).not.toBe(a.id);
    put(dir, a.id, 'result.json', JSON.stringify(okResult));
    expect(prepareResume(dir, [b]).todo.map((t) => t.id)).toEqual([b.id]);
    expect(readResult(dir, a.id)).toEqual(okResult);
  });
});

describe('coordinator lock', () => {
  it('a second coordinator is refused (exit 2) while the first lives; released on demand', () => {
    const dir = join(root(), 'sw');
    const release = acquireLock(dir);
    expect(readLock(dir)).toMatchObject({ pid: process.pid });
    expect(lockAlive(readLock(dir))).toBe(true);
    expect(() => acquireLock(dir)).toThrow(/in use by another engram-sweep run \(pid \d+/);
    release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    acquireLock(dir)();
    expect(tmpFiles(dir)).toEqual([]);
  });

  it('a stale lock (dead pid, or a reused pid with another start time) is taken over', () => {
    const dir = join(root(), 'sw');
    mkdirSync(dir, { recursive: true });
    const me = { pid: process.pid, host: hostname(), started: '2026-01-01T00:00:00.000Z' };
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ ...me, pid: deadPid() }));
    expect(lockAlive(readLock(dir))).toBe(false);
    acquireLock(dir)();
    if (process.platform === 'linux') {
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ ...me, procStart: '1' }));
      expect(lockAlive(readLock(dir))).toBe(false);
    }
    // another host's lock cannot be checked: it counts as live
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ ...me, pid: deadPid(), host: 'elsewhere' }));
    expect(() => acquireLock(dir)).toThrow(InputError);
  });
});

describe('status', () => {
  it('counts done / failed / running / pending and reads the last metrics row', () => {
    const dir = join(root(), 'sw');
    const [done, failed, running, pending] = [trial(0), trial(1), trial(2), trial(3)];
    openSweep(dir, plan('A', [done, failed, running, pending]));
    put(
      dir,
      done.id,
      'metrics.jsonl',
      '{"step":1,"loss":6}\n{"step":10,"loss":5.5,"valLoss":5.7,"tokensPerSec":900}\n',
    );
    put(dir, done.id, 'result.json', JSON.stringify(okResult));
    writeFailedResult(
      dir,
      failed.id,
      { reason: 'oom', message: 'heap', seconds: 1 },
      { name: 'wasm', native: false, threads: 1 },
    );
    put(dir, running.id, 'metrics.jsonl', '{"step":1,"loss":6.2}\n{"step":4,"loss":5.9}\n{"step":5,"lo');

    const release = acquireLock(dir);
    const s = sweepStatus(dir);
    expect(s.counts).toEqual({ done: 1, failed: 1, running: 1, pending: 1 });
    expect(s.lock?.pid).toBe(process.pid);
    const byId = new Map(s.trials.map((t) => [t.id, t]));
    expect(byId.get(done.id)).toMatchObject({
      status: 'done',
      step: 10,
      loss: 5.5,
      valLoss: 4.5,
      steps: 10,
      meta: done.meta,
    });
    expect(byId.get(failed.id)).toMatchObject({ status: 'failed', reason: 'oom', valLoss: null });
    expect(byId.get(running.id)).toMatchObject({ status: 'running', step: 4, loss: 5.9, valLoss: null });
    expect(byId.get(pending.id)).toMatchObject({ status: 'pending', step: null, loss: null });
    release();
    // no live coordinator: the partial trial is not running, it restarts on the next run
    const after = sweepStatus(dir);
    expect(after.counts).toEqual({ done: 1, failed: 1, running: 0, pending: 2 });
    expect(after.trials.find((t) => t.id === running.id)?.resumesAt).toBe(0);
    expect(formatStatus(after)).toMatch(/pending \(next run: from step 0\)/);
    // a horizons trial with a branch-point snapshot resumes from it (resetTrial keeps it)
    put(dir, running.id, 'snapshot/state.json', JSON.stringify({ step: 3 }));
    expect(sweepStatus(dir).trials.find((t) => t.id === running.id)?.resumesAt).toBe(3);
    resetTrial(dir, running.id, true);
    expect(readdirSync(trialDir(dir, running.id))).toEqual(['snapshot']);
    expect(formatStatus(sweepStatus(dir))).toMatch(/pending \(next run: from step 3\)/);
  });

  it('reads the last row of a long metrics file from its tail', () => {
    const dir = root();
    const rows = Array.from({ length: 5000 }, (_, i) =>
      JSON.stringify({ step: i + 1, loss: 10 - i / 1000, tokensPerSec: 1 }),
    );
    writeFileSync(join(dir, 'm.jsonl'), rows.join('\n') + '\n');
    expect(lastMetrics(join(dir, 'm.jsonl'))).toEqual({ step: 5000, loss: 10 - 4999 / 1000, tokensPerSec: 1 });
    expect(lastMetrics(join(dir, 'missing.jsonl'))).toBeNull();
  });

  it('refuses a folder without sweep.json', () => {
    expect(() => sweepStatus(root())).toThrow(/has no sweep\.json/);
  });
});
