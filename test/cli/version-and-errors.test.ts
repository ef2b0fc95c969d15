/**
 * Issue 15, item 11: `--version`; `--set` mistakes name the --set, not the spec file; unknown keys
 * get a "did you mean" (warmpu -> warmup); `bench --which` names the BLAS (library, core, threads)
 * in one line without nested parentheses.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatWhich } from '../../src/bench/index.js';
import { parseTrial } from '../../src/train/config.js';
import { closest, editDistance } from '../../src/util/suggest.js';
import { expectInputErrorExit, runCli } from '../helpers/cli.js';
import { inputErrorLine } from '../helpers/input-error.js';

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Nesting depth of parentheses in a line: "a (b) (c)" is 1, "a (b (c))" is 2. */
function parenDepth(s: string): number {
  let depth = 0;
  let max = 0;
  for (const ch of s) {
    if (ch === '(') max = Math.max(max, ++depth);
    else if (ch === ')') depth--;
  }
  return max;
}

describe('--version', () => {
  it('prints the version from package.json and exits 0', () => {
    for (const flag of ['--version', '-V']) {
      const r = runCli([flag]);
      expect([r.code, r.stdout, r.stderr]).toEqual([0, `${version}\n`, '']);
    }
  });
});

describe('did you mean', () => {
  it('edit distance counts a swap of neighbours as one edit', () => {
    expect(editDistance('warmpu', 'warmup')).toBe(1);
    expect(editDistance('stpes', 'steps')).toBe(1);
    expect(editDistance('lr', 'lr')).toBe(0);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests the closest key within 2 edits, and nothing for a word unlike every key', () => {
    const keys = ['steps', 'batchSize', 'lr', 'minLrRatio', 'warmup', 'weightDecay'];
    expect(closest('warmpu', keys)).toBe('warmup');
    expect(closest('batchsize', keys)).toBe('batchSize');
    expect(closest('learningRate', keys)).toBeUndefined();
    expect(closest('x', keys)).toBeUndefined();
  });

  it('an unknown key of a trial config names the allowed key it is closest to', () => {
    expect(inputErrorLine(() => parseTrial({ train: { warmpu: 10 } }, 't.yaml'))).toBe(
      't.yaml: train: unknown key(s) "warmpu" (did you mean "warmup"?)',
    );
    expect(
      inputErrorLine(() => parseTrial({ model: { engram: { baseSizes: [9, 9], headsPerNgarm: 2 } } }, 't.yaml')),
    ).toBe('t.yaml: model.engram: unknown key(s) "headsPerNgarm" (did you mean "headsPerNgram"?)');
    // no suggestion when nothing is close
    expect(inputErrorLine(() => parseTrial({ train: { colour: 1 } }, 't.yaml'))).toBe(
      't.yaml: train: unknown key(s) "colour"',
    );
  });
});

describe('--set errors name the --set', () => {
  const budget = (...sets: string[]) => runCli(['budget', 'sweeps/ushape.yaml', ...sets.flatMap((s) => ['--set', s])]);

  it('an unknown key given with --set: the --set, and the key it was meant to be', () => {
    expectInputErrorExit(
      budget('train.warmpu=10'),
      /^engram-sweep: --set train\.warmpu=10: unknown key\(s\) "warmpu" \(did you mean "warmup"\?\)\n$/,
    );
    expectInputErrorExit(
      budget('axez.rho=[0.5]'),
      /^engram-sweep: --set axez\.rho=\[0\.5\]: unknown key\(s\) "axez" \(did you mean "axes"\?\)\n$/,
    );
  });

  it('a bad value given with --set, caught by zod or by a cross-field rule, names that --set', () => {
    expectInputErrorExit(budget('train.steps=200', 'train.warmup=-1'), /^engram-sweep: --set train\.warmup=-1: -1: /);
    expectInputErrorExit(
      budget('backbone.nHeads=3'),
      /^engram-sweep: --set backbone\.nHeads=3: 3 does not divide dModel/,
    );
    // an object set whole: the field inside it stays in the line
    expectInputErrorExit(budget('train={steps: 0}'), /^engram-sweep: --set train=\{steps: 0\}: train\.steps: 0: /);
  });

  it('a --set into a list names that --set', () => {
    expectInputErrorExit(
      budget('train.steps=200', 'budgets[0].ratio=0.5'),
      /^engram-sweep: --set budgets\[0\]\.ratio=0\.5: 0\.5: /,
    );
    expect(budget('train.steps=200').code).toBe(0);
  });

  it('a mistake in the spec file itself still names the file, even with a --set beside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'set-errors-'));
    try {
      const spec = join(dir, 'typo.yaml');
      writeFileSync(spec, readFileSync('sweeps/ushape.yaml', 'utf8').replace(/^train:\n/m, 'train:\n  warmpu: 5\n'));
      const r = runCli(['budget', spec, '--set', 'train.steps=200']);
      expectInputErrorExit(r, /typo\.yaml: train: unknown key\(s\) "warmpu" \(did you mean "warmup"\?\)\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bench --which', () => {
  it('names the BLAS library, its core and threads, in one line without nested parentheses', () => {
    const on = formatWhich({
      backend: 'wasm',
      native: true,
      threads: 2,
      blas: 'OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64',
      blasCore: 'Haswell',
      nativeReason: null,
    });
    expect(on).toBe(
      'backend: wasm; native kernels: on; BLAS: OpenBLAS 0.3.21, core Haswell, 2 threads; build: NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64',
    );
    const off = formatWhich({
      backend: 'wasm',
      native: false,
      threads: 1,
      blas: null,
      blasCore: null,
      nativeReason: 'not built (needs a C compiler and OpenBLAS; run npm run build:native)',
    });
    expect(off).toBe(
      'backend: wasm; native kernels: off, not built (needs a C compiler and OpenBLAS; run npm run build:native); threads: 1',
    );
    expect(parenDepth(off)).toBe(1);
  });

  it('the built CLI prints that line, with or without the addon', () => {
    for (const env of [process.env, { ...process.env, ENGRAM_SWEEP_NATIVE: '0' }]) {
      const r = runCli(['bench', '--which'], { env });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        /^backend: \w+; native kernels: (on; BLAS: \S+ \S+, core \S+, \d+ threads?(; build: [^\n]*)?|off, [^\n]+; threads: \d+)\n$/,
      );
      expect(parenDepth(r.stdout)).toBeLessThanOrEqual(1);
    }
    const off = runCli(['bench', '--which'], { env: { ...process.env, ENGRAM_SWEEP_NATIVE: '0' } });
    expect(off.stdout).toContain('native kernels: off, disabled by ENGRAM_SWEEP_NATIVE=0;');
  });
});
