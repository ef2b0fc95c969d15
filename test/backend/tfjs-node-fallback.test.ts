/**
 * Issue 15, item 13: @tensorflow/tfjs-node present but its native library missing (what a user
 * gets when its install could not download libtensorflow). The package is installed with
 * --ignore-scripts into a temporary folder, never into package.json or the lock file, and a
 * temporary project links it beside this package's own dependencies (one @tensorflow/tfjs, as
 * npm would dedupe it); the CLI runs from there with --preserve-symlinks. It must warn, fall back
 * to the next backend (wasm), never crash, and `bench --which` must say which backend it uses.
 * Without the registry the test is skipped with one line.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipBecause } from '../helpers/skip.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const PKG = '@tensorflow/tfjs-node@4.22.0';
const dir = mkdtempSync(join(tmpdir(), 'tfjs-node-fallback-'));
const inst = join(dir, 'install');
const proj = join(dir, 'proj');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let installError: string | null = null;
beforeAll(() => {
  const r = spawnSync(
    'npm',
    ['install', '--ignore-scripts', '--no-save', '--no-audit', '--no-fund', '--prefix', inst, PKG],
    {
      encoding: 'utf8',
      timeout: 150_000,
    },
  );
  if (r.status !== 0 || !existsSync(join(inst, 'node_modules/@tensorflow/tfjs-node/package.json'))) {
    installError = `npm install ${PKG} failed (${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
    return;
  }
  // proj/node_modules: this repo's dependencies, then what tfjs-node adds; engram-sweep itself
  const main = join(REPO, 'node_modules');
  const extra = join(inst, 'node_modules');
  const merge = (sub: string) => {
    const names = new Set<string>();
    for (const base of [main, extra])
      if (existsSync(join(base, sub))) for (const n of readdirSync(join(base, sub))) names.add(n);
    for (const n of names) {
      if (n.startsWith('.') || n === 'engram-sweep') continue;
      const rel = join(sub, n);
      if (n.startsWith('@')) {
        mkdirSync(join(proj, 'node_modules', rel), { recursive: true });
        merge(rel);
        continue;
      }
      const fromMain = existsSync(join(main, rel)) && rel !== join('@tensorflow', 'tfjs-node');
      symlinkSync(join(fromMain ? main : extra, rel), join(proj, 'node_modules', rel));
    }
  };
  mkdirSync(join(proj, 'node_modules', 'engram-sweep'), { recursive: true });
  merge('');
  for (const n of ['dist', 'package.json', 'native'])
    symlinkSync(join(REPO, n), join(proj, 'node_modules', 'engram-sweep', n));
  writeFileSync(
    join(proj, 'trial.yaml'),
    `data: { vocabSize: 512, seqLen: 16, valTokens: 1024 }
model: { dModel: 16, nLayers: 1, nHeads: 2, moe: { shared: 1, routed: 2, topK: 1, expertHidden: 16 } }
train: { steps: 1, batchSize: 2, warmup: 1 }
`,
  );
}, 170_000);

const cli = (args: string[]) =>
  spawnSync(
    process.execPath,
    [
      '--preserve-symlinks',
      '--preserve-symlinks-main',
      join(proj, 'node_modules/engram-sweep/dist/cli/bin.js'),
      ...args,
    ],
    {
      cwd: proj,
      encoding: 'utf8',
      timeout: 120_000,
    },
  );

describe('tfjs-node without its native library', () => {
  const skip = () =>
    skipBecause(installError !== null, 'tfjs-node fallback', installError ?? '', `a reachable npm registry for ${PKG}`);

  it('the package is present, its binding is not, and nothing was written to package.json or the lock file', ({
    skip: s,
  }) => {
    if (skip()) return s();
    expect(lstatSync(join(proj, 'node_modules/@tensorflow/tfjs-node')).isSymbolicLink()).toBe(true);
    expect(existsSync(join(inst, 'node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node'))).toBe(false);
    for (const f of ['package.json', 'package-lock.json'])
      expect(readFileSync(join(REPO, f), 'utf8')).not.toContain('@tensorflow/tfjs-node"');
  });

  it('train warns about tfjs-node, falls back to wasm and finishes (exit 0)', ({ skip: s }) => {
    if (skip()) return s();
    const r = cli(['train', 'trial.yaml', '--out', join(proj, 'out')]);
    expect(r.status, r.stderr).toBe(0);
    const warn = r.stderr.split('\n').filter((l) => /tfjs-node/.test(l));
    expect(warn[0]).toMatch(/^backend: skipping @tensorflow\/tfjs-node failed to load: .*tfjs_binding\.node/);
    expect(r.stderr).toMatch(/^backend: wasm/m);
    expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
    expect(existsSync(join(proj, 'out', 'result.json'))).toBe(true);
  }, 120_000);

  // tfjs-node's message is several lines (its rebuild advice): only the first is logged
  it('the warning is one line', ({ skip: s }) => {
    if (skip()) return s();
    const r = cli(['train', 'trial.yaml', '--out', join(proj, 'out2')]);
    const start = r.stderr.indexOf('backend: skipping');
    const end = r.stderr.indexOf('backend: wasm');
    expect(start).toBeGreaterThanOrEqual(0);
    expect(r.stderr.slice(start, end).trim().split('\n')).toHaveLength(1);
  }, 120_000);

  it('bench --which says it uses wasm, exit 0', ({ skip: s }) => {
    if (skip()) return s();
    const r = cli(['bench', '--which']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/^backend: wasm/m);
  }, 60_000);
});
