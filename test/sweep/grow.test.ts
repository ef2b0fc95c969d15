/**
 * Sweeps that grow in place (DESIGN: results contract): a results folder holds the trials of
 * every version of its spec; a finished trial is reused by id whatever version asks for it;
 * sweep.json keeps the history and lists the current version's trials, which are the only ones
 * fits and reports use; another spec file with the same name is refused.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { readHorizonRows } from '../../src/fit/horizons.js';
import { loadReportData } from '../../src/report/data.js';
import { bundleSweep } from '../../src/results/bundle.js';
import { otherVersionsNote, readTrialRows } from '../../src/results/table.js';
import { chooseResultsDir, openSweep, prepareResume, readSweepRecord, trialDir } from '../../src/sweep/store.js';
import type { SweepPlan, Trial } from '../../src/sweep/types.js';
import { parseTrial } from '../../src/train/config.js';
import { trialId } from '../../src/train/trial-id.js';
import { CLI, makeCorpus, REPO, runCli, startedIn } from '../reliability/fixture.js';

const base = mkdtempSync(join(tmpdir(), 'es-grow-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const root = () => mkdtempSync(join(base, 'r-'));

const trial = (seed: number): Trial => {
  const config = parseTrial(
    { data: { corpus: '/nowhere' }, model: { dModel: 16, nLayers: 1, nHeads: 2 }, train: { steps: 10, seed } },
    'test',
  );
  return { id: trialId(config), config, meta: { kind: 'allocation', variant: 'engram', seed, budget: 'b', rho: 0.5 } };
};
const plan = (hash: string, seeds: number[], file?: string): SweepPlan => ({
  name: 'sw',
  specHash: hash,
  spec: { hash },
  trials: seeds.map(trial),
  warnings: [],
  ...(file ? { file } : {}),
});
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
/** A finished ok trial: config.json (meta, accounting) and result.json. */
function finish(dir: string, t: Trial, valLoss = 4.5): void {
  mkdirSync(trialDir(dir, t.id), { recursive: true });
  writeFileSync(
    join(trialDir(dir, t.id), 'config.json'),
    JSON.stringify({ ...t.config, meta: t.meta, accounting: { pTot: 100, pAct: 10, pSparse: 90 } }),
  );
  writeFileSync(join(trialDir(dir, t.id), 'result.json'), JSON.stringify({ ...okResult, valLoss }));
}
const lineOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).code).toBe(2);
    return (e as InputError).line();
  }
  throw new Error('expected an InputError');
};

describe('a results folder holds every version of its spec', () => {
  it('a grown spec writes to the same folder, reuses finished trials by id and runs only the new one', () => {
    const r = root();
    const v1 = plan('A', [0, 1], join(r, 'spec.yaml'));
    const dir = chooseResultsDir(r, v1);
    expect(dir).toBe(join(r, 'sw'));
    openSweep(dir, v1);
    for (const t of v1.trials) finish(dir, t);

    const v2 = plan('B', [0, 1, 2], join(r, 'spec.yaml'));
    expect(chooseResultsDir(r, v2)).toBe(dir);
    const rec = openSweep(dir, v2);
    const resume = prepareResume(dir, v2.trials);
    expect(resume.done).toEqual(v1.trials.map((t) => t.id));
    expect(resume.todo.map((t) => t.id)).toEqual([v2.trials[2].id]);

    // sweep.json: the current version at the top level, every version in history
    const onDisk = readSweepRecord(dir)!;
    expect(onDisk).toEqual(rec);
    expect(onDisk.specHash).toBe('B');
    expect(onDisk.trials.map((t) => t.id)).toEqual(v2.trials.map((t) => t.id));
    expect(onDisk.history!.map((h) => [h.specHash, h.spec, h.file])).toEqual([
      ['A', { hash: 'A' }, '../spec.yaml'],
      ['B', { hash: 'B' }, '../spec.yaml'],
    ]);
    expect(onDisk.created).toBe(onDisk.history![0].at);

    // the same version again adds nothing; going back to the first is a new entry, with its trials
    openSweep(dir, v2);
    expect(readSweepRecord(dir)!.history!.length).toBe(2);
    openSweep(dir, v1);
    expect(readSweepRecord(dir)!.history!.map((h) => h.specHash)).toEqual(['A', 'B', 'A']);
    expect(readSweepRecord(dir)!.trials.map((t) => t.id)).toEqual(v1.trials.map((t) => t.id));
    expect(prepareResume(dir, v1.trials).todo).toEqual([]);
  });

  it('a folder written before history (no history, no file) grows too, its old version kept', () => {
    const dir = join(root(), 'sw');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'sweep.json'),
      JSON.stringify({
        name: 'sw',
        specHash: 'OLD',
        spec: { old: 1 },
        created: '2026-01-01T00:00:00.000Z',
        updated: '',
        trials: [],
      }),
    );
    openSweep(dir, plan('NEW', [0], '/x/spec.yaml'));
    const h = readSweepRecord(dir)!.history!;
    expect(h.map((v) => v.specHash)).toEqual(['OLD', 'NEW']);
    expect(h[0]).toEqual({ specHash: 'OLD', spec: { old: 1 }, at: '2026-01-01T00:00:00.000Z' });
  });

  it('--new keeps its meaning: a changed spec goes to a fresh folder', () => {
    const r = root();
    openSweep(chooseResultsDir(r, plan('A', [0])), plan('A', [0]));
    expect(chooseResultsDir(r, plan('A', [0]), true)).toBe(join(r, 'sw'));
    expect(chooseResultsDir(r, plan('B', [0, 1]), true)).toBe(join(r, 'sw-2'));
  });

  it('another spec file with the same name is refused, naming the fix; the same file or --plan grows', () => {
    const r = root();
    const a = plan('A', [0], join(r, 'quick.yaml'));
    const dir = chooseResultsDir(r, a);
    openSweep(dir, a);
    const copy = plan('C', [0, 1], join(r, 'my-quick.yaml'));
    const line = lineOf(() => chooseResultsDir(r, copy));
    expect(line).toMatch(
      /sw\/sweep\.json: holds the sweep of another spec file \(.*quick\.yaml\) under the same name; set name: in .*my-quick\.yaml .*--results DIR/,
    );
    // under the lock too (another file may claim the folder between the choice and the lock)
    expect(lineOf(() => openSweep(dir, copy))).toMatch(/another spec file/);
    expect(readSweepRecord(dir)!.specHash).toBe('A');
    // --new: a folder of its own
    expect(chooseResultsDir(r, copy, true)).toBe(join(r, 'sw-2'));
    // the same file, edited: a new version; a plan without a file (--plan) is not checked
    expect(chooseResultsDir(r, plan('B', [0, 1], join(r, 'quick.yaml')))).toBe(dir);
    expect(chooseResultsDir(r, plan('D', [0, 1]))).toBe(dir);
  });
});

describe('fits and reports use the trials of the current version', () => {
  it('readTrialRows, the fit rows, the report and the bundle leave out other versions, and say how many', () => {
    const r = root();
    const dir = join(r, 'sw');
    const v1 = plan('A', [0, 1, 2]);
    openSweep(dir, v1);
    v1.trials.forEach((t, i) => finish(dir, t, 4 + i));
    const v2 = plan('B', [0, 1]); // seed 2 dropped: its finished trial stays in the folder
    openSweep(dir, v2);
    const current = v2.trials.map((t) => t.id).sort();
    expect(readTrialRows(dir).map((t) => t.id)).toEqual(current);
    expect([...new Set(readHorizonRows(dir).map((t) => t.id))].sort()).toEqual(current);
    expect(loadReportData(dir).rows.map((t) => t.id)).toEqual(current);
    expect(loadReportData(dir).otherVersions).toBe(1);
    expect(
      bundleSweep(dir)
        .trials.map((t) => t.id)
        .sort(),
    ).toEqual(current);
    expect(otherVersionsNote(dir)).toMatch(
      /using the 2 trial folders of the current spec \(sweep\.json\); 1 finished trial\(s\) of other versions of the spec left out/,
    );
    // back to the first version: all three count, nothing is left out
    openSweep(dir, v1);
    expect(readTrialRows(dir).length).toBe(3);
    expect(otherVersionsNote(dir)).toBeNull();
  });

  it('fit: fits.json holds the current trials only, and the command says how many it left out', () => {
    const dir = join(root(), 'sw');
    const at = (rho: number, seed: number): Trial => {
      const t = trial(seed * 10 + Math.round(rho * 4));
      return { ...t, meta: { ...t.meta, rho, rhoActual: rho, seed } };
    };
    const current = [0, 0.5, 1].flatMap((rho) => [0, 1, 2].map((seed) => at(rho, seed)));
    const old = at(0.25, 0);
    openSweep(dir, { ...plan('A', []), trials: [...current, old] });
    openSweep(dir, { ...plan('B', []), trials: current });
    current.forEach((t) => finish(dir, t, 4 + (t.meta.rho! - 0.5) ** 2 + 0.001 * t.meta.seed));
    finish(dir, old, 9);
    const r = runCli([CLI, 'fit', dir, '--kind', 'ushape', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /fit: using the 9 trial folders of the current spec \(sweep\.json\); 1 finished trial\(s\) of other versions of the spec left out/,
    );
    const fits = JSON.parse(readFileSync(join(dir, 'fits.json'), 'utf8')).fits[0];
    const xs = fits.groups.flatMap((g: { residuals: { x: number }[] }) => g.residuals.map((p) => p.x));
    expect([...new Set(xs)].sort()).toEqual([0, 0.5, 1]);
  });

  it('a sweep.json written before history (one version only) reads every trial folder', () => {
    const dir = join(root(), 'old');
    finish(dir, trial(0));
    finish(dir, trial(1));
    writeFileSync(
      join(dir, 'sweep.json'),
      JSON.stringify({ name: 'old', specHash: 'x', spec: {}, created: '', updated: '', trials: [] }),
    );
    expect(readTrialRows(dir).length).toBe(2);
    expect(otherVersionsNote(dir)).toBeNull();
  });

  it('a folder without sweep.json (single trials) reads every trial folder', () => {
    const dir = join(root(), 'single');
    finish(dir, trial(0));
    finish(dir, trial(1));
    expect(readTrialRows(dir).length).toBe(2);
    expect(otherVersionsNote(dir)).toBeNull();
  });
});

describe('run: growing a spec by one seed trains only the new trial', () => {
  const SPEC = (seeds: number[], corpus: string) => `name: grow
data: { corpus: ${JSON.stringify(corpus)}, vocabSize: 512, seqLen: 32, valTokens: 2048, valFraction: 0.1 }
backbone:
  dModel: 32
  nLayers: 2
  nHeads: 2
  moe: { shared: 1, topK: 2, expertHidden: 16 }
  engram: { layerIds: [1], maxNgram: 3, headsPerNgram: 2, dimPerNgram: 16 }
budgets:
  - { name: tiny, ratio: 4 }
train: { steps: 4, batchSize: 8, warmup: 1, logEvery: 1 }
axes:
  rho: [0.5]
  seeds: [${seeds.join(', ')}]
  variants: [engram]
`;
  let dir: string;
  let corpus: string;
  beforeAll(() => {
    if (!existsSync(join(REPO, 'dist/cli/bin.js'))) throw new Error('dist/ is not built: npx tsc -p tsconfig.json');
    dir = mkdtempSync(join(base, 'cli-'));
    corpus = makeCorpus(join(dir, 'corpus'));
  });
  const run = (spec: string, ...extra: string[]) =>
    runCli([CLI, 'run', spec, '--results', join(dir, 'results'), '--workers', '1', '--backend', 'wasm', ...extra], {
      cwd: dir,
      env: { ENGRAM_SWEEP_CACHE: join(dir, 'cache') },
    });

  it('trains 1 trial, then with a second seed only that one; sweep.json keeps both versions', () => {
    writeFileSync(join(dir, 'grow.yaml'), SPEC([0], corpus));
    const first = run('grow.yaml');
    expect(first.code, first.stderr).toBe(0);
    expect(startedIn(first.stderr).length).toBe(1);

    writeFileSync(join(dir, 'grow.yaml'), SPEC([0, 1], corpus));
    const second = run('grow.yaml');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/2 trials, 1 done, 0 failed, 1 to run/);
    const started = startedIn(second.stderr);
    expect(started.length).toBe(1);
    expect(startedIn(first.stderr)).not.toContain(started[0]);

    const rec = readSweepRecord(join(dir, 'results/grow'))!;
    expect(rec.trials.length).toBe(2);
    expect(rec.history!.map((h) => h.file)).toEqual(['../../grow.yaml', '../../grow.yaml']);
    expect(readdirSync(join(dir, 'results/grow/trials')).length).toBe(2);
  });

  it('a copy of the spec under the same name is refused with exit 2 and one line; nothing is written', () => {
    writeFileSync(join(dir, 'copy.yaml'), SPEC([0, 1, 2], corpus));
    const before = readFileSync(join(dir, 'results/grow/sweep.json'), 'utf8');
    const r = run('copy.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /grow\/sweep\.json: holds the sweep of another spec file \(.*grow\.yaml\) under the same name; set name: in .*copy\.yaml/,
    );
    expect(readFileSync(join(dir, 'results/grow/sweep.json'), 'utf8')).toBe(before);
    expect(readdirSync(join(dir, 'results'))).toEqual(['grow']);
  });
});
