/**
 * run --only: a part of a sweep trains first; the rest stays pending for a later run, and the
 * after-sweep steps wait for the whole sweep. A selection that matches nothing is bad input.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/contract/errors.js';
import { parseSelection, selectTrials } from '../../src/sweep/select.js';
import type { Trial, TrialMeta } from '../../src/sweep/types.js';
import { CLI, makeCorpus, REPO, runCli, startedIn } from '../reliability/fixture.js';

const base = mkdtempSync(join(tmpdir(), 'es-select-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const t = (id: string, meta: Partial<TrialMeta>): Trial => ({
  id,
  config: {} as Trial['config'],
  meta: { kind: 'allocation', variant: 'engram', seed: 0, ...meta },
});
const trials = [
  t('a', { budget: 'd64', rho: 0, seed: 0 }),
  t('b', { budget: 'd64', rho: 0.5, seed: 1 }),
  t('c', { budget: 'd128', rho: 0.5, seed: 1 }),
  t('d', { budget: 'd128', rho: 1, seed: 2, variant: 'moe' }),
];
const ids = (args: string[]) => selectTrials(trials, parseSelection(args, trials)).map((x) => x.id);
const lineOf = (args: string[]): string => {
  try {
    parseSelection(args, trials);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as InputError).line();
  }
  throw new Error('expected an InputError');
};

describe('parseSelection / selectTrials', () => {
  it('values of one axis are alternatives, different axes must all hold; no --only holds all', () => {
    expect(ids([])).toEqual(['a', 'b', 'c', 'd']);
    expect(ids(['budget=d64'])).toEqual(['a', 'b']);
    expect(ids(['seed=1', 'seed=2'])).toEqual(['b', 'c', 'd']);
    expect(ids(['budget=d128', 'seed=1'])).toEqual(['c']);
    expect(ids(['variant=moe'])).toEqual(['d']);
  });

  it('numbers compare by value', () => {
    expect(ids(['rho=0.50'])).toEqual(['b', 'c']);
    expect(ids(['rho=1.0'])).toEqual(['d']);
  });

  it('an unknown axis, a value no trial has and a malformed argument name the argument and what is allowed', () => {
    expect(lineOf(['colour=red'])).toMatch(
      /--only colour=red: "colour" is not one of variant, budget, rho, seed, slots/,
    );
    expect(lineOf(['budget=d96'])).toMatch(
      /--only budget=d96: no trial has budget "d96"; values in this sweep: d64, d128/,
    );
    expect(lineOf(['slots=100'])).toMatch(/no trial of this sweep has a slots/);
    expect(lineOf(['d64'])).toMatch(/--only d64: is not axis=value/);
  });
});

describe('run --only on a real sweep', () => {
  const SPEC = (corpus: string) => `name: part
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
  seeds: [0, 1]
  variants: [engram]
`;
  let dir: string;
  beforeAll(() => {
    if (!existsSync(join(REPO, 'dist/cli/bin.js'))) throw new Error('dist/ is not built: npx tsc -p tsconfig.json');
    dir = mkdtempSync(join(base, 'cli-'));
    writeFileSync(join(dir, 'part.yaml'), SPEC(makeCorpus(join(dir, 'corpus'))));
  });
  const run = (...extra: string[]) =>
    runCli(
      [CLI, 'run', 'part.yaml', '--results', join(dir, 'results'), '--workers', '1', '--backend', 'wasm', ...extra],
      { cwd: dir, env: { ENGRAM_SWEEP_CACHE: join(dir, 'cache') } },
    );

  it('a value no trial has exits 2 with one line and writes nothing', () => {
    const r = run('--only', 'seed=7');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--only seed=7: no trial has seed "7"; values in this sweep: 0, 1/);
    expect(existsSync(join(dir, 'results'))).toBe(false);
  });

  it('trains only the selected trial and exits 0 without the report; a plain run then trains the rest', () => {
    const first = run('--only', 'seed=1');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/1 to run \(--only seed=1: 1 of the 2 unfinished\)/);
    expect(first.stderr).toMatch(/1 other trial\(s\) pending/);
    expect(startedIn(first.stderr)).toHaveLength(1);
    expect(first.stderr).not.toMatch(/^fits/m);

    const second = run();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/2 trials, 1 done, 0 failed, 1 to run/);
    expect(startedIn(second.stderr)).toHaveLength(1);
    expect(startedIn(second.stderr)).not.toContain(startedIn(first.stderr)[0]);
    expect(readdirSync(join(dir, 'results/part/trials'))).toHaveLength(2);
    // the whole sweep is done: the after-sweep steps run
    expect(second.stderr).toMatch(/^fits/m);
  });
});
