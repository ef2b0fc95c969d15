#!/usr/bin/env node
/**
 * Build the optional OpenBLAS addon (native/binding.gyp) with node-gyp.
 *
 *   node native/build.mjs           the `install` script: never fails npm install / npm ci; when
 *                                   there is no compiler, OpenBLAS or node headers it prints one
 *                                   line and exits 0 (everything then runs on the wasm path)
 *   node native/build.mjs --strict  `npm run build:native`: the same build, but a failure shows
 *                                   node-gyp's output and exits 1
 *
 * node-gyp gets --nodedir pointing at local headers when they exist (/usr/include/node on
 * Debian's nodejs), so it never tries to download them (FIELD-NOTES "Native kernels").
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const strict = process.argv.includes('--strict');
const addon = path.join(here, 'build', 'Release', 'engram_native.node');
const logFile = path.join(here, 'build', 'build.log');

function done(ok, line, output = '') {
  if (!ok && strict) {
    if (output) process.stderr.write(output);
    process.stderr.write(`engram-sweep: native addon build failed: ${line}\n`);
    process.exit(1);
  }
  if (!ok && output) {
    mkdirSync(path.dirname(logFile), { recursive: true });
    writeFileSync(logFile, output);
    line += ` (log: ${path.relative(process.cwd(), logFile)})`;
  }
  console.log(
    ok
      ? `engram-sweep: native addon built: ${line}`
      : `engram-sweep: native addon not built (${line}); the wasm path is used`,
  );
  process.exit(0);
}

const flag = (process.env.ENGRAM_SWEEP_NATIVE ?? '').trim().toLowerCase();
if (!strict && ['0', 'false', 'off'].includes(flag)) done(false, 'ENGRAM_SWEEP_NATIVE=0');

// Without pkg-config or OpenBLAS nothing is built: remove an older build too, so it is not loaded
// in place of the one these sources would give.
const pc = spawnSync('pkg-config', ['--exists', 'openblas'], { encoding: 'utf8' });
if (pc.error || pc.status !== 0) rmSync(addon, { force: true });
if (pc.error) done(false, 'pkg-config is not installed');
if (pc.status !== 0) done(false, 'OpenBLAS not found by pkg-config: apt-get install libopenblas-dev');

/** npm sets npm_config_node_gyp in lifecycle scripts; otherwise npm's bundled copy, else PATH. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(
      path.dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not a dependency of this package: fine
  }
  const found = candidates.find((c) => c && existsSync(c));
  return found ? [process.execPath, found] : ['node-gyp'];
}

/** A directory whose include/node/node_api.h exists: no header download needed. */
function nodeDir() {
  const dirs = ['/usr', path.resolve(path.dirname(process.execPath), '..')];
  return dirs.find((d) => existsSync(path.join(d, 'include', 'node', 'node_api.h')));
}

const [cmd, ...pre] = nodeGyp();
const dir = nodeDir();
const args = [...pre, 'rebuild', '--directory', here, ...(dir ? [`--nodedir=${dir}`] : [])];
const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
if (r.error) done(false, `cannot run node-gyp: ${r.error.message}`);
if (r.status !== 0) {
  const cc = spawnSync('cc', ['--version']);
  const why = cc.error
    ? 'no C compiler (cc)'
    : dir
      ? 'node-gyp failed'
      : 'node-gyp failed (no local node headers; offline it cannot download them)';
  rmSync(addon, { force: true });
  done(false, why, output);
}

// Check that the result loads (it links libopenblas at run time), then report the BLAS it found.
const check = spawnSync(
  process.execPath,
  ['-e', `const a = require(${JSON.stringify(addon)}); console.log(a.info().config)`],
  { encoding: 'utf8' },
);
if (check.status !== 0) {
  rmSync(addon, { force: true });
  done(false, 'the built addon does not load', output + (check.stderr ?? ''));
}
done(true, check.stdout.trim());
