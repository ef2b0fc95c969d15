/**
 * End to end through the built CLI: kill -9 the coordinator mid-sweep (one trial finished, one
 * running), check that its trial processes die with it, rerun, and check that every trial was
 * completed exactly once, completed results were not touched, and nothing half-written is left.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultCorpusDir } from '../../src/data/corpus.js';
import type { SweepPlan } from '../../src/sweep/types.js';
import { parseTrial } from '../../src/train/config.js';
import { trialId } from '../../src/train/trial-id.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(REPO, 'dist/cli/bin.js');

const root = mkdtempSync(join(tmpdir(), 'es-kill-'));
const corpus = join(root, 'corpus');
const results = join(root, 'results');
mkdirSync(corpus);
for (const f of ['carroll-alice.txt', 'blake-poems.txt', 'burgess-busterbrown.txt']) {
  writeFileSync(join(corpus, f), readFileSync(join(defaultCorpusDir(), f)));
}
const STEPS = 60;
const trials = [0, 1, 2, 3].map((seed) => {
  const config = parseTrial(
    {
      data: { corpus, vocabSize: 512, seqLen: 32, valTokens: 2048, valFraction: 0.1 },
      model: {
        dModel: 32,
        nLayers: 2,
        nHeads: 2,
        moe: { shared: 1, routed: 4, topK: 2, expertHidden: 16 },
        engram: { layerIds: [1], maxNgram: 3, headsPerNgram: 2, dimPerNgram: 16, baseSizes: [3000, 3000] },
      },
      train: { steps: STEPS, batchSize: 8, warmup: 2, lr: 1e-2, logEvery: 1, seed },
    },
    'test',
  );
  return {
    id: trialId(config),
    config,
    meta: { kind: 'allocation' as const, variant: 'engram' as const, seed, rho: 0.5 },
  };
});
const plan: SweepPlan = { name: 'kill', specHash: 'kill-test', spec: { steps: STEPS }, trials, warnings: [] };
const planFile = join(root, 'plan.json');
writeFileSync(planFile, JSON.stringify(plan));
const sweepDir = join(results, 'kill');
const runArgs = [CLI, 'run', planFile, '--plan', '--workers', '2', '--backend', 'wasm', '--results', results];

const tdir = (id: string) => join(sweepDir, 'trials', id);
const has = (id: string, f: string) => existsSync(join(tdir(id), f));
const readIf = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
/** Processes whose command line names this test's folder: the coordinator and trial processes. */
const ours = () =>
  spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l.includes(root) && !l.includes('ps -eo'));
/** The last step in a trial's metrics.jsonl so far (0 before the first). */
const lastStep = (id: string): number => {
  const rows = readIf(join(tdir(id), 'metrics.jsonl')).split('\n');
  for (let i = rows.length - 1; i >= 0; i--) {
    try {
      return JSON.parse(rows[i]).step;
    } catch {
      // a line being written
    }
  }
  return 0;
};
const started = (log: string) => [...log.matchAll(/^start (t[0-9a-f]{16})/gm)].map((m) => m[1]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number, what: string) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// trial processes run dist/sweep/child.js, built by test/global-setup.ts
beforeAll(() => {
  if (!existsSync(join(REPO, 'dist/sweep/child.js'))) throw new Error('dist/ is not built: npx tsc -p tsconfig.json');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('kill -9 mid-sweep loses only the running trials; the rerun completes each trial exactly once', async () => {
  const t0 = Date.now();
  const first = spawn(process.execPath, runArgs, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let log1 = '';
  first.stderr.on('data', (d) => (log1 += d));
  const firstExit = new Promise((r) => first.on('exit', r));
  // a second coordinator on the same folder is refused with exit 2 and one clear line
  await until(() => existsSync(join(sweepDir, 'sweep.lock')), 20_000, 'the lock');
  const second = spawnSync(process.execPath, runArgs, { cwd: root, encoding: 'utf8' });
  expect(second.status).toBe(2);
  expect(second.stderr).toMatch(/kill: is in use by another engram-sweep run \(pid \d+/);

  // one trial finished and another running, early in its 60 steps: it cannot finish within
  // the second the orphan check allows
  const early = (id: string) => !has(id, 'result.json') && lastStep(id) >= 1 && lastStep(id) <= 20;
  await until(
    () => trials.some((t) => has(t.id, 'result.json')) && trials.some((t) => early(t.id)),
    40_000,
    'a finished and a running trial',
  );
  const runningAtKill = trials.filter((t) => early(t.id)).map((t) => t.id);
  first.kill('SIGKILL');
  await firstExit;
  const tKill = Date.now();
  // the trial processes die with it (IPC disconnect / parent-pid watchdog), within a second,
  // and write nothing more: a running trial gets no result.json from an orphan
  await until(() => ours().length === 0, 1_000, `orphans to exit: ${ours().join('; ')}`);
  const orphanMs = Date.now() - tKill;
  expect(runningAtKill.length).toBeGreaterThanOrEqual(1);
  for (const id of runningAtKill) expect(has(id, 'result.json')).toBe(false);
  const doneBefore = new Map(
    trials
      .filter((t) => has(t.id, 'result.json'))
      .map((t) => [t.id, readFileSync(join(tdir(t.id), 'result.json'), 'utf8')]),
  );
  expect(doneBefore.size).toBeGreaterThanOrEqual(1);
  expect(doneBefore.size).toBeLessThan(4);
  for (const r of doneBefore.values()) expect(JSON.parse(r).status).toBe('ok');

  const status = JSON.parse(execFileSync(process.execPath, [CLI, 'status', sweepDir, '--json'], { encoding: 'utf8' }));
  expect(status.counts).toEqual({ done: doneBefore.size, failed: 0, running: 0, pending: 4 - doneBefore.size });

  const rerun = spawnSync(process.execPath, runArgs, { cwd: root, encoding: 'utf8' });
  expect(rerun.status, rerun.stderr).toBe(0);
  const log2 = rerun.stderr;
  const total = Date.now() - t0;

  // completed trials were not run again and their files are untouched
  expect(started(log2).sort()).toEqual(
    trials
      .map((t) => t.id)
      .filter((id) => !doneBefore.has(id))
      .sort(),
  );
  for (const [id, text] of doneBefore) expect(readFileSync(join(tdir(id), 'result.json'), 'utf8')).toBe(text);
  for (const id of started(log1)) expect(trials.map((t) => t.id)).toContain(id);
  // every trial: ok, and its metrics come from exactly one run (steps 1..N once, no leftovers)
  for (const t of trials) {
    const result = JSON.parse(readFileSync(join(tdir(t.id), 'result.json'), 'utf8'));
    expect(result).toMatchObject({ status: 'ok', tokens: STEPS * 8 * 32, backend: 'wasm' });
    expect(Number.isFinite(result.valLoss)).toBe(true);
    const steps = readFileSync(join(tdir(t.id), 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).step);
    expect(steps).toEqual(Array.from({ length: STEPS }, (_, k) => k + 1));
  }
  expect(readdirSync(sweepDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  expect(existsSync(join(sweepDir, 'sweep.lock'))).toBe(false);
  expect(JSON.parse(readFileSync(join(sweepDir, 'sweep.json'), 'utf8')).trials).toHaveLength(4);
  expect(ours()).toEqual([]);
  expect(log2).toMatch(/sweep kill: 4 done, 0 failed, 0 unfinished/);
  process.stderr.write(
    `kill test: orphans gone ${orphanMs} ms after the kill; whole scenario ${(total / 1000).toFixed(1)} s\n`,
  );
}, 90_000);
