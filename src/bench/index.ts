/**
 * `engram-sweep bench`: train the fixed configs for N steps, one process per run, and report
 * tokens/s, ms/step, peak RSS and the per-kernel profile; with the PyTorch peer, alternate ours
 * and the peer (same thread count) and give the ratio ours/peer per config.
 */
import { type BackendChoice, initBackend, nativeInfo } from '../backend/index.js';
import { type BenchConfigName, benchBatch, benchModel } from './configs.js';
import { trainFlopsPerToken } from './flops.js';
import { findPython, type PeerResult, runOurs, runPeer } from './peer.js';
import type { BenchResult, TrainBenchJob } from './train-bench.js';

export { BENCH_CONFIGS, benchModel, parseConfigs, type BenchConfigName } from './configs.js';
export { runExtras, type ExtraOptions } from './extra.js';
export type { BenchResult } from './train-bench.js';

export interface BenchOptions {
  configs: BenchConfigName[];
  steps: number;
  threads: number;
  backend: BackendChoice;
  /** also run bench/peer_torch.py, alternating with ours */
  peer: boolean;
  /** ours/peer pairs per config when peer is on; the best of each side is kept */
  rounds: number;
  log: (line: string) => void;
}

export interface BenchLine extends BenchResult {
  /** model training GFLOP/s: trainFlopsPerToken x tokens/s (flops.ts) */
  gflops: number;
  peer?: {
    engine: string;
    tokensPerSec: number;
    msPerStep: number;
    cpuMsPerStep: number;
    tokensPerCpuSec: number;
    params: number;
  };
  /** ours / peer tokens per second (wall) */
  ratio?: number;
  /** ours / peer tokens per CPU-second */
  cpuRatio?: number;
  /** tokens/s of every round, ours and the peer's */
  rounds?: { ours: number[]; peer: number[] };
}

export function jobFor(config: BenchConfigName, o: Pick<BenchOptions, 'steps' | 'threads' | 'backend'>): TrainBenchJob {
  const { steps, threads, backend } = o;
  return { config, model: benchModel(config), batch: benchBatch(config), steps, threads, backend, profile: true };
}

const gflopsOf = (config: BenchConfigName, tokensPerSec: number) =>
  Math.round((trainFlopsPerToken(benchModel(config)) * tokensPerSec) / 1e8) / 10;
const best = <T>(xs: T[], key: (x: T) => number): T => xs.reduce((a, b) => (key(b) > key(a) ? b : a));
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Run the configs; emit one line per config as soon as it is measured. */
export async function runBench(o: BenchOptions, emit: (line: BenchLine) => void): Promise<BenchLine[]> {
  const python = o.peer ? findPython() : null;
  if (o.peer && python == null) {
    throw new Error(
      '--peer needs a Python with torch (Debian: apt-get install python3-torch; or set ENGRAM_SWEEP_PYTHON)',
    );
  }
  const lines: BenchLine[] = [];
  for (const config of o.configs) {
    const job = jobFor(config, o);
    if (!python) {
      o.log(`bench: ${config}, ${o.steps} steps, ${o.threads} thread(s)`);
      const r = await runOurs(job);
      const line = { ...r, gflops: gflopsOf(config, r.tokensPerSec) };
      lines.push(line);
      emit(line);
      continue;
    }
    const ours: BenchResult[] = [];
    const peers: PeerResult[] = [];
    for (let r = 0; r < o.rounds; r++) {
      o.log(`bench: ${config} round ${r + 1}/${o.rounds}: ours, then the peer (${o.threads} thread(s))`);
      ours.push(await runOurs(job));
      peers.push(await runPeer(python, config, o.steps, o.threads));
    }
    const a = best(ours, (x) => x.tokensPerSec);
    const p = best(peers, (x) => x.tokens_per_s);
    const line: BenchLine = {
      ...a,
      gflops: gflopsOf(config, a.tokensPerSec),
      peer: {
        engine: p.engine,
        tokensPerSec: p.tokens_per_s,
        msPerStep: p.ms_per_step,
        cpuMsPerStep: p.cpu_ms_per_step,
        tokensPerCpuSec: p.tokens_per_cpu_s,
        params: p.params,
      },
      ratio: r3(a.tokensPerSec / p.tokens_per_s),
      cpuRatio: r3(a.tokensPerCpuSec / p.tokens_per_cpu_s),
      rounds: { ours: ours.map((x) => x.tokensPerSec), peer: peers.map((x) => x.tokens_per_s) },
    };
    lines.push(line);
    emit(line);
  }
  return lines;
}

export interface WhichInfo {
  backend: string;
  native: boolean;
  /** BLAS threads with the addon on, else the backend's own */
  threads: number;
  /** the BLAS library the addon uses (openblas_get_config()), when it is on */
  blas: string | null;
  /** the BLAS kernel set in use (OpenBLAS core, OPENBLAS_CORETYPE picks it), when it is on */
  blasCore: string | null;
  /** why the addon is off, when it is */
  nativeReason: string | null;
}

/** Which compute path a trial in this process would take. */
export async function which(backend: BackendChoice, log: (line: string) => void = () => {}): Promise<WhichInfo> {
  const b = await initBackend(backend, { log });
  const n = nativeInfo();
  return {
    backend: b.name,
    native: b.native,
    threads: b.threads,
    blas: n.blas ? n.blas.config : null,
    blasCore: n.blas ? n.blas.corename : null,
    nativeReason: n.active ? null : (n.reason ?? null),
  };
}

/**
 * `bench --which` as one line, the BLAS named with its core and threads, e.g.
 * "backend: wasm; native kernels: on; BLAS: OpenBLAS 0.3.21, core Haswell, 1 thread; build: NO_LAPACKE ..."
 * or "backend: wasm; native kernels: off, disabled by ENGRAM_SWEEP_NATIVE=0; threads: 1".
 */
export function formatWhich(w: WhichInfo): string {
  if (w.native && w.blas) {
    // openblas_get_config() is "<name> <version> <build options...>"
    const m = /^(\S+\s+\S+)\s*(.*)$/.exec(w.blas.trim());
    const [lib, build] = m ? [m[1], m[2]] : [w.blas, ''];
    const threads = `${w.threads} thread${w.threads === 1 ? '' : 's'}`;
    return `backend: ${w.backend}; native kernels: on; BLAS: ${lib}, core ${w.blasCore ?? 'unknown'}, ${threads}${build ? `; build: ${build}` : ''}`;
  }
  const why = w.native ? '' : `, ${w.nativeReason ?? 'not in use'}`;
  return `backend: ${w.backend}; native kernels: ${w.native ? 'on' : 'off'}${why}; threads: ${w.threads}`;
}

/** A fixed-width table of bench lines for the terminal. */
export function formatBench(lines: BenchLine[]): string {
  const head = [
    'config',
    'backend',
    'native',
    'thr',
    'tok/s',
    'ms/step',
    'GFLOP/s',
    'tok/cpu-s',
    'peak RSS MB',
    'peer tok/s',
    'peer tok/cpu-s',
    'ours/peer',
    'cpu ratio',
  ];
  const rows = lines.map((l) => [
    l.config,
    l.backend,
    l.native ? 'on' : 'off',
    String(l.threads),
    String(l.tokensPerSec),
    String(l.msPerStep),
    String(l.gflops),
    String(l.tokensPerCpuSec),
    (l.peakRssBytes / 2 ** 20).toFixed(0),
    l.peer ? String(l.peer.tokensPerSec) : '-',
    l.peer ? String(l.peer.tokensPerCpuSec) : '-',
    l.ratio != null ? l.ratio.toFixed(2) : '-',
    l.cpuRatio != null ? l.cpuRatio.toFixed(2) : '-',
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padStart(width[i])).join('  ');
  const profiles = lines.map(
    (l) =>
      `${l.config} profile (ms/step): ` +
      Object.entries(l.profile)
        .slice(0, 10)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
  );
  return [fmt(head), ...rows.map(fmt), '', ...profiles].join('\n') + '\n';
}
