/**
 * The backend ladder (DESIGN "Compute"): @tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node,
 * the embedded wasm backend, then the plain JS CPU backend.
 *
 * The native packages download libtensorflow at install time, impossible offline, so they
 * are optional peers found at run time by a dynamic import; a missing one is skipped
 * quietly. Nothing here has run them: the path is written to their documented behaviour
 * (both register a backend named 'tensorflow' on import).
 */
import * as tf from '@tensorflow/tfjs';
import * as tfWasm from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { InputError, show } from '../contract/errors.js';
import { registerNativeKernels } from './native/index.js';
import { registerCpuKernels, registerWasmKernels } from './kernels/index.js';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  /** tfjs backend name: 'tensorflow', 'wasm' or 'cpu' */
  name: string;
  threads: number;
  /** true once a native addon has registered its kernels (not in this module) */
  native: boolean;
}

export interface BackendOptions {
  /** one line per event: which backend and threads are in use, and why a rung was skipped */
  log?: (line: string) => void;
  /** module loader for the optional native packages; the default is a dynamic import */
  load?: (specifier: string) => Promise<unknown>;
  /**
   * BLAS threads of the native addon (default: what OPENBLAS_NUM_THREADS gave the library, all
   * cores when unset). Results are deterministic per thread count, so a retrain must match it.
   */
  threads?: number;
}

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/** Dynamic import through a variable, so tsc does not look for the optional packages. */
const dynamicImport = (specifier: string): Promise<unknown> => import(specifier);

function isMissing(err: unknown, specifier: string): boolean {
  const e = err as { code?: string; message?: string };
  const missing = e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND';
  // A package that is present but lacks one of its own dependencies is broken, not missing.
  return missing && String(e.message ?? '').includes(`'${specifier}'`);
}

type Attempt = { ok: true; pkg: string } | { ok: false; broken: string[] };

/** Try the native packages in order; the first that loads and registers 'tensorflow' wins. */
async function tryTensorflow(load: (s: string) => Promise<unknown>): Promise<Attempt> {
  const broken: string[] = [];
  for (const pkg of NATIVE_PACKAGES) {
    try {
      await load(pkg);
    } catch (err) {
      // the first line only: tfjs-node's message goes on with several lines of rebuild advice
      const first = String((err as Error)?.message ?? err)
        .split('\n')[0]
        .trim();
      if (!isMissing(err, pkg)) broken.push(`${pkg} failed to load: ${first}`);
      continue;
    }
    if (tf.findBackendFactory('tensorflow') == null) {
      broken.push(`${pkg} loaded but registered no 'tensorflow' backend with this @tensorflow/tfjs`);
      continue;
    }
    if (await tf.setBackend('tensorflow')) return { ok: true, pkg };
    broken.push(`${pkg}: the 'tensorflow' backend failed to initialise`);
  }
  return { ok: false, broken };
}

/** Directory of the wasm binaries, with a trailing separator, as setWasmPaths wants it. */
export function wasmDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

let wasmPathsSet = false;

async function tryWasm(): Promise<boolean> {
  if (!wasmPathsSet) {
    // Local files only: the emscripten loader reads a plain path with fs under Node.
    tfWasm.setWasmPaths(wasmDir());
    wasmPathsSet = true;
  }
  registerWasmKernels();
  return tf.setBackend('wasm');
}

function info(name: string, blasThreads?: number): BackendInfo {
  if (blasThreads != null) return { name, threads: blasThreads, native: true };
  const threads = name === 'wasm' ? tfWasm.getThreadsCount() : name === 'tensorflow' ? os.availableParallelism() : 1;
  return { name, threads, native: false };
}

/**
 * Select and initialise a tfjs backend. 'auto' walks the ladder; a named choice that
 * cannot be had throws InputError('--backend', ...). Logs the backend and threads in use.
 */
export async function initBackend(choice: BackendChoice, opts: BackendOptions = {}): Promise<BackendInfo> {
  const log = opts.log ?? (() => {});
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new InputError('--backend', `${show(choice)} is not a backend; allowed: ${BACKEND_CHOICES.join(', ')}`);
  }
  let chosen: string | undefined;
  let detail = '';
  let blasThreads: number | undefined;
  if (choice === 'auto' || choice === 'tensorflow') {
    const t = await tryTensorflow(opts.load ?? dynamicImport);
    if (t.ok) {
      chosen = 'tensorflow';
      detail = ` (${t.pkg})`;
    } else if (choice === 'tensorflow') {
      const why = t.broken.length > 0 ? t.broken.join('; ') : 'neither is installed';
      throw new InputError(
        '--backend',
        `tensorflow needs @tensorflow/tfjs-node or -node-gpu installed; ${why}. ` +
          `Use --backend wasm or cpu, or install one of them (it downloads libtensorflow).`,
      );
    } else {
      for (const line of t.broken) log(`backend: skipping ${line}`);
    }
  }
  if (chosen == null && (choice === 'auto' || choice === 'wasm')) {
    if (await tryWasm()) {
      chosen = 'wasm';
      detail = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) ? ' (simd)' : ' (no simd)';
      // The optional OpenBLAS addon (./native) stacks its kernels over ours; threads are then BLAS threads.
      const n = registerNativeKernels(opts.threads != null ? { threads: opts.threads } : {});
      if (n.active) {
        blasThreads = n.blas?.threads ?? 1;
        detail += `, BLAS: ${n.blas?.config}`;
      } else if (n.broken) {
        log(`backend: native addon skipped: ${n.reason}`);
      }
    } else if (choice === 'wasm') {
      throw new InputError('--backend', 'wasm failed to initialise (see the tfjs warning above)');
    } else {
      log('backend: wasm failed to initialise, falling back to cpu');
    }
  }
  if (chosen == null) {
    registerCpuKernels();
    if (!(await tf.setBackend('cpu'))) throw new Error('the tfjs cpu backend failed to initialise');
    quietCpuBanner();
    chosen = 'cpu';
  }
  const result = info(chosen, chosen === 'wasm' ? blasThreads : undefined);
  log(`backend: ${result.name}${detail}, threads: ${result.threads}, native kernels: ${result.native ? 'on' : 'off'}`);
  return result;
}

/**
 * tfjs' cpu backend prints "Hi, looks like you are running TensorFlow.js in Node.js ... install our
 * node backend" on its first tensor in Node. Where this suite runs on cpu it chose to (--backend
 * cpu, the wasm fallback, tests' reference path), and the README says when tfjs-node is used, so
 * the banner is noise. Call after setBackend('cpu'), before the first tensor: it marks the cpu
 * backend's first use as done. (tf.env().set('IS_TEST', true) would also silence it, but turns on
 * tfjs' per-kernel memory-leak checks; PROD would silence every tfjs warning.)
 */
export function quietCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu != null && typeof cpu.firstUse === 'boolean') cpu.firstUse = false;
}
