/**
 * The addon's guards: every size it is given is checked without overflow (absurd sizes throw a
 * JS error, never crash the process or touch memory outside the heap), and a build compiled
 * from other sources than native/src holds is refused with one line, so the wasm path runs.
 * The sources' hash is checked against native/sources-hash.mjs (what the build compiles in) and
 * against a sha256 written out here. Without a build these tests skip (one line says why).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADDON_PATH, SOURCES_DIR, loadAddon, loadNative, sourcesHash } from '../../src/backend/index.js';
import { setup, skipNative } from './util.js';

const { info } = await setup();
const skip = skipNative(info, 'test/native/guards.test.ts');

const BIG = 2 ** 53 - 1; // the largest integer a JS number holds exactly
const I32 = 2 ** 31 - 1;

describe('sourcesHash', () => {
  it('is the sha256 of the sorted *.c / *.h files, each as name, byte length, bytes', () => {
    const names = readdirSync(SOURCES_DIR)
      .filter((n) => n.endsWith('.c') || n.endsWith('.h'))
      .sort();
    expect(names).toContain('addon.c');
    const h = createHash('sha256');
    for (const n of names) {
      const bytes = readFileSync(path.join(SOURCES_DIR, n));
      h.update(Buffer.concat([Buffer.from(`${n}\n${bytes.length}\n`), bytes]));
    }
    expect(sourcesHash()).toBe(h.digest('hex'));
  });

  it('agrees with native/sources-hash.mjs, which binding.gyp compiles into the addon', () => {
    const out = execFileSync(process.execPath, ['native/sources-hash.mjs'], { encoding: 'utf8' }).trim();
    expect(out).toBe(sourcesHash());
  });

  it('is undefined where the sources are absent (an install without native/src)', () => {
    expect(sourcesHash(path.join(tmpdir(), 'engram-sweep-no-such-dir'))).toBeUndefined();
  });
});

describe.skipIf(skip)('native addon guards', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'engram-native-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('was compiled from the sources on disk (the loaded build is not stale)', () => {
    const state = loadNative();
    if (!state.ok) throw new Error(state.reason);
    expect(state.addon.info().sourcesHash).toBe(sourcesHash());
  });

  it('refuses a build whose sources changed since, with one line, and loads it with unchanged ones', () => {
    const src = path.join(dir, 'src');
    cpSync(SOURCES_DIR, src, { recursive: true });
    const node = path.join(dir, 'engram_native.node');
    copyFileSync(ADDON_PATH, node);
    const lines: string[] = [];
    const warn = (l: string) => lines.push(l);
    expect(loadAddon({ addonPath: node, sourcesDir: src, warn }).ok).toBe(true);
    expect(lines).toEqual([]);
    writeFileSync(path.join(src, 'gemm.c'), `${readFileSync(path.join(src, 'gemm.c'), 'utf8')}\n/* edited */\n`);
    const stale = loadAddon({ addonPath: node, sourcesDir: src, warn });
    expect(stale).toMatchObject({ ok: false, stale: true });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^engram-sweep: native addon refused, stale build: .*npm run build:native; the wasm path is used$/,
    );
    // a checkout without native/src: nothing to compare, the build is used
    expect(loadAddon({ addonPath: node, sourcesDir: path.join(dir, 'absent'), warn }).ok).toBe(true);
  });

  it('a process whose addon is stale runs wasm without native kernels, saying so once', () => {
    // dist/ resolves the addon and the sources relative to itself: a copy of the layout in dir
    const root = path.join(dir, 'tree');
    cpSync('dist', path.join(root, 'dist'), { recursive: true });
    copyFileSync('package.json', path.join(root, 'package.json'));
    symlinkSync(path.resolve('node_modules'), path.join(root, 'node_modules'), 'dir');
    cpSync(SOURCES_DIR, path.join(root, 'native', 'src'), { recursive: true });
    cpSync(path.dirname(ADDON_PATH), path.join(root, 'native', 'build', 'Release'), { recursive: true });
    writeFileSync(
      path.join(root, 'native', 'src', 'vec.h'),
      `${readFileSync(path.join(SOURCES_DIR, 'vec.h'), 'utf8')}\n`,
    );
    const code =
      "const b = await import('./dist/backend/index.js'); const i = await b.initBackend('wasm');" +
      'console.log(JSON.stringify({ i, n: b.nativeInfo() }));';
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out.i).toMatchObject({ name: 'wasm', native: false });
    expect(out.n).toMatchObject({ active: false });
    const said = r.stderr.split('\n').filter((l) => l.includes('native addon'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^engram-sweep: native addon refused, stale build/);
    expect(out.n.reason).toMatch(/^stale build/);
  });

  it('throws a JS error on absurd sizes, for every entry point', () => {
    const state = loadNative();
    if (!state.ok) throw new Error(state.reason);
    const a = state.addon;
    const h = new Uint8Array(4096);
    const dims = (rank: number, s: number, st: number) =>
      new Int32Array([...Array(rank).fill(s), ...Array(rank).fill(st), ...Array(rank).fill(st)]);
    const calls: [string, () => unknown][] = [
      ['sgemm batch stride', () => a.sgemm(h, I32, 0, 0, 1, 1, 1, 1, 0, BIG, 0, 0, 0, 0, 0)],
      ['sgemm huge batch', () => a.sgemm(h, BIG, 0, 0, I32, I32, I32, 1, 0, BIG, 0, BIG, 0, 0, BIG)],
      ['sgemm (batch - 1) * sa + M * K', () => a.sgemm(h, 3, 0, 0, 1, 1, 1, 1, 0, 2 ** 62, 0, 1, 0, 0, 1)],
      ['binary', () => a.binary(h, 0, 0, 0, 0, dims(8, I32, I32))],
      ['copy', () => a.copy(h, 0, 0, dims(8, I32, I32))],
      ['unary', () => a.unary(h, 0, 0, 0, BIG)],
      ['reduce', () => a.reduce(h, 0, 0, 0, BIG, BIG, 0)],
      ['softmax', () => a.softmax(h, 0, 0, BIG, BIG)],
      ['rmsnormFwd', () => a.rmsnormFwd(h, 0, 0, 0, 0, BIG, BIG, 1e-6)],
      ['rmsnormBwd', () => a.rmsnormBwd(h, 0, 0, 0, 0, 0, 0, BIG, BIG)],
      ['swigluFwd', () => a.swigluFwd(h, 0, 0, 2 ** 40, 2 ** 22)],
      ['swigluBwd', () => a.swigluBwd(h, 0, 0, 0, BIG, BIG)],
      ['softmaxCE', () => a.softmaxCE(h, 0, 0, 0, 0, BIG, BIG)],
      ['softmaxBwd', () => a.softmaxBwd(h, 0, 0, 0, BIG, BIG)],
      ['attentionFwd', () => a.attentionFwd(h, 0, 0, 0, 0, 0, 0, 0, BIG, 46340, 1000, 2, 1)],
      ['attentionBwd', () => a.attentionBwd(h, 0, 0, 0, 0, 0, 0, 0, 0, BIG, 46340, 1000, 2, 1)],
      ['adamw', () => a.adamw(h, 0, 0, 0, 0, BIG, 1, 0.9, 0.1, 0.99, 0.01, 1, 1, 1e-8, 1, 1e-3, 1, 1)],
      ['sumSquares', () => a.sumSquares(h, 0, BIG)],
      ['rope', () => a.rope(h, 0, 0, 0, 0, BIG, BIG, 2 ** 40, 0)],
      ['offset past the heap', () => a.unary(h, 0, BIG - 7, 0, 1)],
    ];
    const messages = new Map<string, string>();
    for (const [name, call] of calls) {
      expect(call, name).toThrow(/size overflow|bad sizes|outside the wasm heap|bad heap offset|bad size/);
      try {
        call();
      } catch (err) {
        messages.set(name, (err as Error).message);
      }
    }
    // where a product or sum passes int64 it is the overflow check that says so
    for (const name of ['sgemm (batch - 1) * sa + M * K', 'binary', 'copy', 'softmax', 'rmsnormFwd', 'rope']) {
      expect(messages.get(name), name).toMatch(/size overflow/);
    }
    // the addon still works afterwards: a 1x1 sgemm in the same heap
    const f = new Float32Array(h.buffer);
    f.set([3, 4, 0]);
    a.sgemm(h, 1, 0, 0, 1, 1, 1, 1, 0, 1, 4, 1, 0, 8, 1);
    expect(f[2]).toBe(12);
  });
});
