/**
 * Injected: kill -9 of the local sweep (`run`, local executor) three times in a row, each at a
 * random moment (seeded; the seed is printed) after one or two more trials have finished, so kills
 * land mid-trial, between trials and around result writes; then a run to the end.
 * Asserted after each kill: the trial processes die with the coordinator, every result.json
 * present is whole and valid. At the end: every trial done exactly once (no run starts a trial
 * that was finished before it, finished results are never rewritten, metrics hold steps 1..N
 * once), no temp files, no lock, no orphans.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import {
  cli,
  expectSweepComplete,
  hasResult,
  makeCorpus,
  processesWith,
  runCli,
  sleep,
  start,
  startedIn,
  tinyTrial,
  trialPath,
  until,
  writePlan,
} from './fixture.js';

const root = mkdtempSync(join(tmpdir(), 'es-rel-local-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('kill -9 at three random points, then finish: every trial done once, nothing half-written', async () => {
  const corpus = makeCorpus(join(root, 'corpus'));
  const trials = Array.from({ length: 8 }, (_, s) => tinyTrial(corpus, s, { steps: 16 }));
  writePlan(join(root, 'plan.json'), 'kills', trials);
  const sweep = join(root, 'results/kills');
  const argv = cli(
    'run',
    join(root, 'plan.json'),
    '--plan',
    '--workers',
    '2',
    '--backend',
    'wasm',
    '--results',
    join(root, 'results'),
  );
  const seed = Number(process.env.ENGRAM_SWEEP_KILL_SEED ?? Date.now() % 100_000);
  const rng = new Rng(seed);
  const finished = new Map<string, string>();
  const kills: string[] = [];
  for (let k = 0; k < 3; k++) {
    const before = new Set(finished.keys());
    const run = start(argv);
    const target = Math.min(trials.length - 2, before.size + 1 + rng.int(2));
    await until(
      () => trials.filter((t) => hasResult(sweep, t.id)).length >= target,
      60_000,
      `${target} finished trials`,
    );
    const ms = rng.int(1500);
    await sleep(ms);
    run.child.kill('SIGKILL');
    await run.exited;
    // the trial processes follow their coordinator (IPC disconnect / parent-pid watchdog)
    await until(() => processesWith(root).length === 0, 3000, 'orphan trial processes to exit');
    // no run starts a trial finished before it; a finished result is never rewritten
    for (const id of startedIn(run.log())) expect(before.has(id), `${id} started again`).toBe(false);
    for (const [id, text] of finished) expect(readFileSync(trialPath(sweep, id, 'result.json'), 'utf8')).toBe(text);
    for (const t of trials.filter((t) => hasResult(sweep, t.id))) {
      const text = readFileSync(trialPath(sweep, t.id, 'result.json'), 'utf8');
      expect(JSON.parse(text)).toMatchObject({ status: 'ok' });
      finished.set(t.id, text);
    }
    kills.push(`${ms} ms after ${target} done (${finished.size} at the kill)`);
  }
  const last = runCli(argv);
  expect(last.code, last.stderr).toBe(0);
  for (const id of startedIn(last.stderr)) expect(finished.has(id), `${id} started again`).toBe(false);
  expect(startedIn(last.stderr).length).toBe(trials.length - finished.size);
  for (const [id, text] of finished) expect(readFileSync(trialPath(sweep, id, 'result.json'), 'utf8')).toBe(text);
  expectSweepComplete(sweep, trials);
  expect(last.stderr).toMatch(/sweep kills: 8 done, 0 failed, 0 unfinished/);
  expect(existsSync(join(sweep, 'sweep.lock'))).toBe(false);
  expect(processesWith(root)).toEqual([]);
  process.stderr.write(`local kills (seed ${seed}; ENGRAM_SWEEP_KILL_SEED repeats it): ${kills.join(', ')}\n`);
}, 150_000);
