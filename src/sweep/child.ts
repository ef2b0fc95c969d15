/**
 * The trial process (dist/sweep/child.js). The local executor forks it with an IPC channel and
 * sends one job; it trains that trial with runTrial in the trial's folder and exits. runTrial
 * writes result.json itself (ok, or failed: diverged); an exception is recorded here as failed
 * with reason error. A crash leaves no result.json: the coordinator records that one.
 *
 * It must not outlive the coordinator (a rerun would race it on the same folder): it exits on
 * IPC 'disconnect', and, since a training step blocks the event loop for seconds, a watchdog
 * thread also kills it when its parent pid changes (the orphan is re-parented).
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
// types only: tfjs and the trainer load after the watchdog runs (their import takes a second)
import type { BackendChoice, BackendInfo } from '../backend/index.js';
import { RESULT_FILE } from '../contract/files.js';
import type { TrialConfig } from '../train/config.js';

/** coordinator -> child */
export interface Job {
  type: 'job';
  config: TrialConfig;
  meta: Record<string, unknown>;
  /** the trial folder */
  dir: string;
  backend: BackendChoice;
}

/** child -> coordinator */
export type ChildMessage =
  | { type: 'backend'; info: BackendInfo }
  | { type: 'step'; step: number; steps: number; loss: number; tokensPerSec: number; rss: number }
  | { type: 'log'; line: string };

const WATCHDOG = `const { workerData } = require('node:worker_threads');
setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 250);`;

/**
 * A thread of its own, so it runs while the main thread is busy training. It compares with the
 * pid the coordinator passed (argv), so a parent that died before this started is caught too.
 */
async function startWatchdog(parentPid: number): Promise<void> {
  const w = new Worker(WATCHDOG, { eval: true, workerData: parentPid });
  await once(w, 'online');
  w.unref();
}

const send = (m: ChildMessage) => {
  if (process.connected) process.send!(m);
};

async function runJob(job: Job): Promise<number> {
  const t0 = Date.now();
  const { initBackend } = await import('../backend/index.js');
  const { runTrial } = await import('../train/trial.js');
  const { InputError } = await import('../contract/errors.js');
  const { failedResult, writeResult } = await import('../contract/result.js');
  let backend: BackendInfo = { name: job.backend, native: false, threads: 0 };
  try {
    backend = await initBackend(job.backend);
    send({ type: 'backend', info: backend });
    await runTrial(job.config, {
      dir: job.dir,
      backend,
      meta: job.meta,
      log: (line) => send({ type: 'log', line }),
      onStep: (s) => send({ type: 'step', ...s, rss: process.memoryUsage.rss() }),
    });
    return 0;
  } catch (e) {
    if (existsSync(join(job.dir, RESULT_FILE))) throw e;
    const message = e instanceof InputError ? e.line() : e instanceof Error ? e.message : String(e);
    // allocation failures (ArrayBuffer, wasm heap growth) are out of memory, not a bug
    const oom = /Array buffer allocation failed|Cannot enlarge memory|out of memory|Aborted\(OOM\)/i.test(message);
    writeResult(
      job.dir,
      failedResult({ reason: oom ? 'oom' : 'error', message, tokens: 0, seconds: (Date.now() - t0) / 1000 }, backend),
    );
    process.stderr.write(`${e instanceof Error && e.stack ? e.stack : message}\n`);
    return 1;
  }
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('sweep/child.js is started by the local executor (with an IPC channel)');
  process.on('disconnect', () => process.exit(130));
  const job = once(process, 'message') as Promise<[Job]>;
  await startWatchdog(Number(process.argv[3]) || process.ppid);
  const [j] = await job;
  process.exit(await runJob(j));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
