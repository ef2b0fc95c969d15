/**
 * Running benchmark processes: ours (dist/bench/child.js, one per run so each has its own peak
 * RSS and its own OPENBLAS_NUM_THREADS) and the PyTorch peer (bench/peer_torch.py).
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchResult, TrainBenchJob } from './train-bench.js';

const run = promisify(execFile);

/** bench/peer_torch.py of this repository (the same path from src/bench and dist/bench). */
export const PEER_SCRIPT = fileURLToPath(new URL('../../bench/peer_torch.py', import.meta.url));

/** dist/bench/child.js; from src/ (tests) the built one in dist/. */
export function childScript(): string {
  const here = fileURLToPath(new URL('./child.js', import.meta.url));
  return existsSync(here) ? here : fileURLToPath(new URL('../../dist/bench/child.js', import.meta.url));
}

/** The last line of stdout as JSON; a failure carries the child's stderr tail. */
function lastJson<T>(stdout: string, what: string): T {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`${what} printed no JSON line: ${JSON.stringify(stdout.slice(-300))}`);
  }
}

async function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv, what: string): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { env, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${what} failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-5).join(' | ')}`);
  }
}

/** One of our benchmark runs in a fresh process with OPENBLAS_NUM_THREADS = job.threads. */
export async function runOurs(job: TrainBenchJob, env: NodeJS.ProcessEnv = process.env): Promise<BenchResult> {
  const script = childScript();
  if (!existsSync(script)) throw new Error(`${script} is missing: build first (npm run build)`);
  const childEnv = { ...env, OPENBLAS_NUM_THREADS: String(job.threads) };
  const out = await exec(process.execPath, [script, JSON.stringify(job)], childEnv, `bench ${job.config}`);
  return lastJson<BenchResult>(out, `bench ${job.config}`);
}

export interface PeerResult {
  engine: string;
  config: string;
  threads: number;
  params: number;
  ms_per_step: number;
  tokens_per_s: number;
  cpu_ms_per_step: number;
  tokens_per_cpu_s: number;
  loss_first: number;
  loss_last: number;
}

/**
 * A Python with torch: ENGRAM_SWEEP_PYTHON, else Debian's /usr/bin/python3 (python3-torch is
 * installed for it; the default python3 may lack torch), else python3 on PATH. null if none
 * imports torch.
 */
export function findPython(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = [env.ENGRAM_SWEEP_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

/**
 * The PyTorch peer on `threads` intra-op threads. OPENBLAS_NUM_THREADS=1 for it: torch's own
 * threads already split the work, and nested OpenBLAS threads halve throughput (FIELD-NOTES).
 */
export async function runPeer(python: string, config: string, steps: number, threads: number): Promise<PeerResult> {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: String(threads) };
  const args = [PEER_SCRIPT, '--config', config, '--threads', String(threads), '--steps', String(steps)];
  return lastJson<PeerResult>(await exec(python, args, env, `peer ${config}`), `peer ${config}`);
}
