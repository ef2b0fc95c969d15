/**
 * Issue 15, item 5: `train --out <an existing file>` is bad input (exit 2, one line, nothing
 * written), and output into a reader that closes early (`engram-sweep run ... | head`,
 * `budget ... | head -1`) is no uncaught EPIPE: the work finishes (a sweep's fits and report are
 * still written) and the exit status is the command's own.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultCorpusDir } from '../../src/data/corpus.js';
import { CLI, expectInputErrorExit, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pipes-and-out-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `bash -c SCRIPT` with "$NODE" "$CLI" the built CLI; returns the exit status the script reports and its output. */
function shell(script: string) {
  const r = spawnSync('bash', ['-c', script], {
    encoding: 'utf8',
    cwd: dir,
    env: { ...process.env, CLI, NODE: process.execPath },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A 3-trial sweep of a tiny model on three small books: ~1 s of training per trial. */
function tinySweep(name: string): string {
  const corpus = join(dir, 'corpus');
  if (!existsSync(corpus)) {
    mkdirSync(corpus);
    for (const f of ['carroll-alice.txt', 'blake-poems.txt', 'burgess-busterbrown.txt'])
      copyFileSync(join(defaultCorpusDir(), f), join(corpus, f));
  }
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
data: { corpus: ${JSON.stringify(corpus)}, vocabSize: 512, seqLen: 32, valTokens: 2048, valFraction: 0.1 }
backbone:
  dModel: 32
  nLayers: 2
  nHeads: 2
  moe: { shared: 1, topK: 2, expertHidden: 16 }
  engram: { layerIds: [1], maxNgram: 3, headsPerNgram: 2, dimPerNgram: 16 }
budgets: [{ name: tiny, ratio: 3 }]
train: { steps: 12, batchSize: 8, warmup: 2, lr: 1.0e-2, logEvery: 1 }
axes: { rho: [0, 0.5, 1] }
rhoOne: minimal
`,
  );
  return file;
}

describe('train --out', () => {
  it('an existing file is bad input: exit 2, one line naming --out, the file untouched, nothing written', () => {
    const file = join(dir, 'taken.txt');
    writeFileSync(file, 'mine\n');
    const before = readdirSync(dir).sort();
    expectInputErrorExit(
      runCli(['train', 'sweeps/trials/tiny-engram.yaml', '--out', file]),
      /^engram-sweep: --out: ".*taken\.txt" exists and is not a folder/,
    );
    expect(readFileSync(file, 'utf8')).toBe('mine\n');
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  it('a folder below a file is bad input too', () => {
    const file = join(dir, 'taken2.txt');
    writeFileSync(file, 'mine\n');
    expectInputErrorExit(
      runCli(['train', 'sweeps/trials/tiny-engram.yaml', '--out', join(file, 'trial')]),
      /^engram-sweep: --out: ".*taken2\.txt" is a file/,
    );
  });
});

describe('a reader that closes early', () => {
  it('budget | head -c 0 (the pipe closed before the table is written): no EPIPE, exit 0', () => {
    const spec = join(process.cwd(), 'sweeps', 'ushape.yaml');
    const r = shell(`"$NODE" "$CLI" budget ${spec} 2>err.txt | head -c 0; echo "exit \${PIPESTATUS[0]}"`);
    expect(r.stdout).toBe('exit 0\n');
    expect(readFileSync(join(dir, 'err.txt'), 'utf8')).toBe('');
  });

  it('run 2>&1 | head -1: the sweep still finishes, writes its fits and report, and exits 0', () => {
    const spec = tinySweep('piped');
    const r = shell(
      `"$NODE" "$CLI" run ${spec} --results ${join(dir, 'results')} 2>&1 | head -1; echo "exit \${PIPESTATUS[0]}"`,
    );
    expect(r.stdout.split('\n').slice(-2)).toEqual(['exit 0', '']);
    for (const f of ['sweep.json', 'fits.json', 'report.html'])
      expect(existsSync(join(dir, 'results', 'piped', f)), f).toBe(true);
    expect(readdirSync(join(dir, 'results', 'piped', 'trials'))).toHaveLength(3);
  });

  it('run --json | head -c 0 (stdout closed, stderr kept): no EPIPE on stderr, exit 0', () => {
    // the same sweep again: all trials done, so it goes straight to the fits, report and the JSON
    const spec = tinySweep('piped');
    const r = shell(
      `"$NODE" "$CLI" run ${spec} --results ${join(dir, 'results')} --json 2>err2.txt | head -c 0; echo "exit \${PIPESTATUS[0]}"`,
    );
    expect(r.stdout).toBe('exit 0\n');
    const err = readFileSync(join(dir, 'err2.txt'), 'utf8');
    expect(err).not.toMatch(/EPIPE|Error:|\n\s+at /);
    expect(err).toMatch(/report: /);
  });
});
